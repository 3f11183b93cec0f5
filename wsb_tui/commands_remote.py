"""`wsb attach`, `wsb serve` and the live `wsb status`. `register(main)` adds them to the CLI.

Heavy imports happen inside each command, so `wsb --help` stays instant.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

ROLE_CHOICE = click.Choice(["monitor", "trader"])

socket_option = click.option(
    "--socket",
    "socket_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="The engine's control socket (default: the user runtime dir's engine.sock).",
)


def _endpoint(
    socket_path: Path | None,
    host: str | None,
    port: int | None,
    token_file: Path | None,
    role: str | None,
) -> object:
    from engine.runtime.control.protocol import Role
    from wsb_tui.remote.endpoint import resolve_endpoint

    try:
        return resolve_endpoint(
            socket_path=socket_path,
            host=host,
            port=port,
            token_file=token_file,
            role=Role(role) if role else None,
        )
    except (ValueError, OSError) as exc:
        raise click.UsageError(str(exc)) from None


@click.command()
@socket_option
@click.option("--host", help="Engine TCP host (with --port); the token comes from --token-file.")
@click.option("--port", type=click.IntRange(1, 65535), help="Engine TCP port.")
@click.option(
    "--token-file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Token file the engine wrote (default: the user runtime dir's engine.token).",
)
@click.option("--role", type=ROLE_CHOICE, help="Ask for less than your credential allows.")
@click.option("--client-name", default=None, help="How this desk is named in the audit log.")
@click.option("--theme", default=None, help="Colour theme.")
def attach(
    socket_path: Path | None,
    host: str | None,
    port: int | None,
    token_file: Path | None,
    role: str | None,
    client_name: str | None,
    theme: str | None,
) -> None:
    """Open the desk on a running `wsb engine`. Quitting detaches; the engine keeps running."""
    import getpass
    import socket as socket_mod

    from engine.runtime.control.protocol import Role
    from wsb_tui.remote.attach import run_attach
    from wsb_tui.remote.endpoint import Endpoint

    endpoint = _endpoint(socket_path, host, port, token_file, role)
    assert isinstance(endpoint, Endpoint)
    name = client_name or f"{getpass.getuser()}@{socket_mod.gethostname()}"
    sys.exit(run_attach(endpoint, role=Role(role) if role else None, client_name=name, theme=theme))


@click.command()
@socket_option
@click.option("--db", type=click.Path(path_type=Path, dir_okay=False), help="SQLite database.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def status(socket_path: Path | None, db: Path | None, as_json: bool) -> None:
    """Live state from the running engine, or the database when none is running (it says so)."""
    from wsb_tui.remote.endpoint import Endpoint
    from wsb_tui.remote.status import print_status

    endpoint = _endpoint(socket_path, None, None, None, None)
    assert isinstance(endpoint, Endpoint)
    sys.exit(asyncio.run(print_status(endpoint, db, as_json=as_json)))


@click.command()
@click.option("--ssh", is_flag=True, help="Serve the desk over SSH (public keys only).")
@click.option("--web", is_flag=True, help="Serve the desk to a browser (textual-serve).")
@click.option("--port", type=click.IntRange(0, 65535), required=True, help="Port to listen on.")
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Bind address (SSH: use 0.0.0.0 to accept laptops on your network).",
)
@socket_option
@click.option(
    "--authorized-keys",
    type=click.Path(path_type=Path, dir_okay=False),
    help="SSH keys with roles, 'ROLE KEYTYPE BASE64 NAME' per line "
    "(default: config dir's ssh_authorized_keys).",
)
@click.option(
    "--host-key",
    type=click.Path(path_type=Path, dir_okay=False),
    help="SSH host key (default: data dir's ssh_host_ed25519_key, made on first run).",
)
@click.option(
    "--role",
    type=ROLE_CHOICE,
    default="monitor",
    show_default=True,
    help="Web only: the role every browser session gets (there is no login).",
)
@click.option(
    "--i-know-this-is-exposed",
    "exposed",
    is_flag=True,
    help="Web only: allow a non-loopback --host (anyone reaching it gets the desk).",
)
def serve(
    ssh: bool,
    web: bool,
    port: int,
    host: str,
    socket_path: Path | None,
    authorized_keys: Path | None,
    host_key: Path | None,
    role: str,
    exposed: bool,
) -> None:
    """Serve the desk of a running `wsb engine`: over SSH (--ssh) or to a browser (--web)."""
    if ssh == web:
        raise click.UsageError("choose one of --ssh or --web")
    if ssh:
        sys.exit(asyncio.run(_serve_ssh(port, host, socket_path, authorized_keys, host_key)))
    sys.exit(_serve_web(port, host, socket_path, role, exposed))


async def _serve_ssh(
    port: int,
    host: str,
    socket_path: Path | None,
    authorized_keys: Path | None,
    host_key: Path | None,
) -> int:
    from wsb_tui.remote.logfmt import configure_logging
    from wsb_tui.ssh_door import AuthorizedKeysError, start_ssh_door

    configure_logging("text")
    try:
        door = await start_ssh_door(
            port=port,
            host=host,
            socket_path=socket_path,
            authorized_keys=authorized_keys,
            host_key=host_key,
        )
    except (AuthorizedKeysError, OSError) as exc:
        click.echo(f"error: {exc}", err=True)
        return 2
    click.echo(
        f"ssh door on {host}:{door.port}: `ssh -t -p {door.port} HOST` opens the desk "
        f"({len(door.keys)} keys)",
        err=True,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    with contextlib.suppress(NotImplementedError):
        loop.add_signal_handler(signal.SIGHUP, door.keys.reload)
    await stop.wait()
    await door.close()
    return 0


def _serve_web(port: int, host: str, socket_path: Path | None, role: str, exposed: bool) -> int:
    import shlex

    from engine.runtime.control.auth import is_loopback
    from engine.runtime.control.paths import default_socket_path

    if not is_loopback(host) and not exposed:
        raise click.UsageError(
            f"--host {host!r} is not loopback: the browser desk has no login, so anyone who "
            "reaches the port gets it. Use `ssh -L` to reach it, or pass --i-know-this-is-exposed"
        )
    try:
        from textual_serve.server import Server
    except ImportError:
        click.echo(
            "error: the browser desk needs textual-serve: pip install 'textual-serve'", err=True
        )
        return 2
    sock = socket_path or default_socket_path()
    command = " ".join(
        shlex.quote(a)
        for a in [
            sys.executable,
            "-m",
            "wsb_tui.remote.attach",
            "--socket",
            str(sock),
            "--role",
            role,
            "--client-name",
            "web",
        ]
    )
    Server(command, host=host, port=port, title="wsb").serve()
    return 0


def engine_control_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """The `wsb engine` options for remote control, logging and systemd (see the lead's
    patch): --socket, --tcp-port, --tcp-host, --i-know-this-is-exposed, --log-format,
    --print-systemd-unit."""
    opts = [
        click.option(
            "--socket",
            "control_socket",
            type=click.Path(path_type=Path, dir_okay=False),
            help="Control socket (default: $WSB_RUNTIME_DIR or the user runtime dir, "
            "engine.sock). Created mode 0600.",
        ),
        click.option(
            "--tcp-port",
            type=click.IntRange(0, 65535),
            help="Also serve control on TCP (127.0.0.1) with a token in a 0600 file; "
            "0 = any free port.",
        ),
        click.option(
            "--tcp-host",
            default="127.0.0.1",
            show_default=True,
            help="TCP bind address; non-loopback needs --i-know-this-is-exposed.",
        ),
        click.option(
            "--i-know-this-is-exposed",
            "exposed",
            is_flag=True,
            help="Allow --tcp-host to be a non-loopback address (the token still applies).",
        ),
        click.option(
            "--log-format",
            type=click.Choice(["text", "json"]),
            default="text",
            show_default=True,
            help="Log lines on stderr: readable text, or one JSON object per line.",
        ),
        click.option(
            "--print-systemd-unit",
            is_flag=True,
            help="Print a systemd user unit running this command, and exit.",
        ),
    ]
    for opt in reversed(opts):
        fn = opt(fn)
    return fn


def register(main: click.Group) -> None:
    """Add `attach`, `serve` and the live `status` (replacing the database-only one: it falls
    back to the database when no engine is running) to the `wsb` group."""
    main.add_command(attach)
    main.add_command(serve)
    main.add_command(status)
