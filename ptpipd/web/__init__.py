"""The HTTP data plane (DESIGN.md §8): downloads streamed from the camera, MJPEG live view, WebSocket and
``POST /rpc`` JSON-RPC, served by aiohttp inside the daemon's event loop.

:mod:`.app` has the routes, :mod:`.server` the listeners, and :mod:`.backend` the small interface the data
plane needs from the rest of the daemon, built on the camera service and the JSON-RPC dispatcher.
"""
