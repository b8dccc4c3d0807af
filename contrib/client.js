#!/usr/bin/env node
// client.js: ptpipd's JSON-RPC API from Node.js with nothing but the `net` module.
//
//   node client.js get iso
//   node client.js set iso 800          # prints the value read back and the notification it caused
//   node client.js watch 60             # prints camera events and property changes for 60 s
//   node client.js --socket /run/ptpipd/fuji.sock get effect
//
// The protocol: one JSON-RPC 2.0 request per line, one response per line; after `subscribe`,
// notifications (lines without an id) arrive on the same connection.
'use strict';

const net = require('net');
const fs = require('fs');
const path = require('path');

const EXIT_ERROR = 1;
const EXIT_USAGE = 2;
const EXIT_UNREACHABLE = 105;

const USAGE = `usage: node client.js [--socket PATH | --instance NAME] COMMAND

commands:
  get PROPERTY          the property's value (iso, exp-bias, whitebalance, 0x500f, ...)
  set PROPERTY VALUE    write it; prints the value read back and the notify.property it caused
  watch [SECONDS]       print notifications (camera events, property changes) for SECONDS (default 10)

The socket: --socket PATH, --instance NAME (NAME.sock), $PTPIPD_SOCKET, $PTPIPCTL_SOCKET, else the one
ptpipctl uses: ptpipd.sock in /run/ptpipd as root, else in your own $XDG_RUNTIME_DIR/ptpipd (or
/tmp/ptpipd-UID) when it exists, else /run/ptpipd's.
Exit codes: 0 ok, 1 error from the daemon or camera, 2 usage, 105 ptpipd unreachable.`;

// Each command's arguments: checked before connecting, so a typo is a usage error even without a daemon.
const COMMANDS = {
  get: { args: 'PROPERTY', min: 1, max: 1 },
  set: { args: 'PROPERTY VALUE', min: 2, max: 2 },
  watch: { args: '[SECONDS]', min: 0, max: 1 },
};

class RpcError extends Error {
  constructor(error) {
    super(`${error.message} (error ${error.code})`);
    this.code = error.code;
    this.data = error.data;
  }
}

class Unreachable extends Error {}

class UsageError extends Error {}

// A JSON-RPC connection: call() returns a promise per request; onNotification sees the rest.
class Client {
  constructor(socketPath) {
    this.socketPath = socketPath;
    this.nextId = 1;
    this.pending = new Map();
    this.buffer = '';
    this.onNotification = () => {};
  }

  connect() {
    return new Promise((resolve, reject) => {
      this.sock = net.createConnection({ path: this.socketPath });
      this.sock.setEncoding('utf8');
      this.sock.once('connect', () => resolve(this));
      this.sock.once('error', (err) => {
        const failure = new Unreachable(`cannot talk to ptpipd at ${this.socketPath}: ${err.message}`);
        reject(failure);
        this.failAll(failure);
      });
      this.sock.on('data', (chunk) => this.receive(chunk));
      this.sock.on('close', () =>
        this.failAll(new Unreachable(`ptpipd at ${this.socketPath} closed the connection`)),
      );
    });
  }

  receive(chunk) {
    this.buffer += chunk;
    let newline;
    while ((newline = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, newline);
      this.buffer = this.buffer.slice(newline + 1);
      if (line.trim() === '') continue;
      let message;
      try {
        message = JSON.parse(line);
      } catch {
        this.failAll(new Error(`ptpipd sent a line that is not JSON: ${line.slice(0, 80)}`));
        this.sock.destroy();
        return;
      }
      if (message.id === undefined) {
        this.onNotification(message);
      } else if (this.pending.has(message.id)) {
        const { resolve, reject } = this.pending.get(message.id);
        this.pending.delete(message.id);
        if (message.error) reject(new RpcError(message.error));
        else resolve(message.result);
      }
    }
  }

  failAll(error) {
    for (const { reject } of this.pending.values()) reject(error);
    this.pending.clear();
  }

  call(method, params) {
    const id = this.nextId++;
    const request = { jsonrpc: '2.0', method, id };
    if (params !== undefined) request.params = params;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.sock.write(JSON.stringify(request) + '\n');
    });
  }

  close() {
    this.sock.end();
  }
}

// ptpipctl's rule: /run/ptpipd as root; else your own runtime directory's socket when it exists, else the
// system service's when that exists (members of the ptpipd group may use it), else your own.
function instanceSocket(name) {
  if (!/^[\w.@-]+$/.test(name) || name === '.' || name === '..') {
    throw new UsageError(`invalid instance name '${name}': use a plain name such as 'studio'`);
  }
  const system = path.join('/run/ptpipd', `${name}.sock`);
  const uid = process.getuid();
  if (uid === 0) return system;
  const dir = process.env.XDG_RUNTIME_DIR
    ? path.join(process.env.XDG_RUNTIME_DIR, 'ptpipd')
    : `/tmp/ptpipd-${uid}`;
  const own = path.join(dir, `${name}.sock`);
  return !fs.existsSync(own) && fs.existsSync(system) ? system : own;
}

function defaultSocket() {
  return process.env.PTPIPD_SOCKET || process.env.PTPIPCTL_SOCKET || instanceSocket('ptpipd');
}

function parseArgs(argv) {
  const args = { socket: null, command: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '-h' || arg === '--help') args.help = true;
    else if (arg === '-s' || arg === '--socket') args.socket = argv[++i];
    else if (arg === '-i' || arg === '--instance') args.socket = argv[++i] && instanceSocket(argv[i]);
    else if (arg.startsWith('--socket=')) args.socket = arg.slice('--socket='.length);
    else if (arg.startsWith('-') && args.command.length === 0 && !/^-\d/.test(arg)) {
      throw new UsageError(`unknown option ${arg}`);
    } else args.command.push(arg);
  }
  if (args.socket === undefined) throw new UsageError('--socket and --instance need a value');
  return args;
}

// The command's name and arguments, or a UsageError saying what is wrong with them.
function checkCommand(command) {
  const [verb, ...rest] = command;
  const spec = Object.hasOwn(COMMANDS, verb) ? COMMANDS[verb] : undefined;
  if (spec === undefined) {
    throw new UsageError(`unknown command '${verb}'; the commands are ${Object.keys(COMMANDS).join(', ')}`);
  }
  if (rest.length < spec.min || rest.length > spec.max) {
    throw new UsageError(`${verb} takes ${spec.args || 'no arguments'}: node client.js ${verb} ${spec.args}`);
  }
  if (verb === 'watch' && rest.length && !(Number(rest[0]) > 0)) {
    throw new UsageError(`watch needs a number of seconds, not '${rest[0]}'`);
  }
}

function show(value) {
  return `${value.property} = ${value.label} (${value.hex ?? JSON.stringify(value.value)})`;
}

// The first notify.property about `code` (already received or arriving within timeoutMs).
function propertyNotification(client, notes, code, timeoutMs) {
  return new Promise((resolve, reject) => {
    const check = () => {
      const note = notes.find((n) => n.code === code);
      if (note) {
        clearTimeout(timer);
        resolve(note);
      }
      return Boolean(note);
    };
    const timer = setTimeout(() => reject(new Error(`no notify.property for ${code} within ${timeoutMs / 1000} s`)), timeoutMs);
    if (!check()) client.onWake = check;
  });
}

async function run(client, command) {
  const [verb, ...rest] = command;
  if (verb === 'get' && rest.length === 1) {
    console.log(show(await client.call('get', { property: rest[0] })));
  } else if (verb === 'set' && rest.length === 2) {
    const [property, value] = rest;
    const notes = [];
    client.onNotification = (note) => {
      if (note.method !== 'notify.property') return;
      notes.push(note.params);
      if (client.onWake) client.onWake();
    };
    const before = await client.call('get', { property });
    await client.call('subscribe', { topics: ['property'] });
    const result = await client.call('set', { property, value });
    console.log(show(result));
    if (JSON.stringify(result.value) === JSON.stringify(before.value)) {
      console.log('unchanged: no notify.property');
    } else {
      const note = await propertyNotification(client, notes, result.code, 5000);
      console.log(`notify.property: ${note.property} = ${note.label}`);
    }
  } else if (verb === 'watch' && rest.length <= 1) {
    const seconds = rest.length ? Number(rest[0]) : 10;
    client.onNotification = (note) => console.log(JSON.stringify(note));
    await client.call('subscribe', {});
    console.error(`client.js: watching for ${seconds} s`);
    await new Promise((resolve) => setTimeout(resolve, seconds * 1000)); // the watch period itself
  }
}

async function main() {
  let args;
  let socketPath;
  try {
    args = parseArgs(process.argv.slice(2));
    if (args.help) {
      console.log(USAGE);
      return 0;
    }
    if (args.command.length === 0) {
      console.error(USAGE);
      return EXIT_USAGE;
    }
    checkCommand(args.command);
    socketPath = args.socket || defaultSocket();
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    console.error(`client.js: ${err.message}\n${USAGE}`);
    return EXIT_USAGE;
  }
  const client = new Client(socketPath);
  try {
    await client.connect();
    await run(client, args.command);
    return 0;
  } catch (err) {
    if (err instanceof Unreachable) {
      console.error(`client.js: ${err.message} (is ptpipd running? use --socket or PTPIPD_SOCKET)`);
      return EXIT_UNREACHABLE;
    }
    console.error(`client.js: ${err.message}`);
    return EXIT_ERROR;
  } finally {
    if (client.sock) client.close();
  }
}

main().then((code) => {
  process.exitCode = code;
});
