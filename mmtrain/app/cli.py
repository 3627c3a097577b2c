"""``mmtrain app``: serve the page of :mod:`mmtrain.app.server` over a folder of videos."""

from __future__ import annotations

import argparse
import ipaddress
import logging

from mmdata.errors import ConfigError

__all__ = ["register", "run_app", "DEFAULT_PORT"]

log = logging.getLogger(__name__)

#: The port the page is served on by default.
DEFAULT_PORT = 8765


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``app`` sub-command."""
    p = subparsers.add_parser(
        "app", help="a local web page: open a video, draw a region, see its spectrum, magnify a peak's band",
        description="Serve a web page over the videos of FOLDER: open a video, draw a region, see its displacement "
                    "waveform and amplitude spectrum, click a peak to set the temporal band, preview magnified "
                    "frames beside the input, export the clip into the folder. Only files inside FOLDER can be "
                    "opened or written. Served on loopback (127.0.0.1) unless --host says otherwise; stop with "
                    "Ctrl-C. Needs Flask (pip install 'motionmag[app]').")
    p.add_argument("folder", nargs="?", default=".", help="the folder of your videos (default: the current one)")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1, this machine only; another address lets "
                        "the network read and write the folder's videos)")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT}; 0: any free port)")
    p.set_defaults(func=run_app)


def run_app(args: argparse.Namespace) -> int:
    """Run ``mmtrain app`` until interrupted; prints the page's address."""
    try:
        from werkzeug.serving import make_server

        from mmtrain.app.server import create_app
    except ImportError as err:
        raise ConfigError(f"app: needs Flask ({err.name} is not installed): pip install 'motionmag[app]'") from None
    if not 0 <= args.port <= 65535:
        raise ConfigError(f"port: expected 0..65535, got {args.port}")
    try:
        loopback = ipaddress.ip_address(args.host).is_loopback
    except ValueError:
        loopback = args.host == "localhost"
    if not loopback:
        log.warning("app: listening on %s: anyone who can reach it can read and write the videos of %s",
                    args.host, args.folder)
    server = make_server(args.host, args.port, create_app(args.folder), threaded=True)
    print(f"mmtrain app: http://{args.host}:{server.port}/ (folder {args.folder}); Ctrl-C stops it", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0
