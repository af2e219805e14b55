"""``yuqing console``: serve the review web console, manage its logins.

Passwords are never taken as arguments (they would land in shell history and ``ps``): from
``$YUQING_CONSOLE_PASSWORD`` or a hidden prompt.
"""

from __future__ import annotations

import os

import click

from yuqing.cli_common import config_option, fail, load_or_exit, mask_url, open_database

PASSWORD_ENV = "YUQING_CONSOLE_PASSWORD"


@click.group("console")
def console() -> None:
    """The review web console: serve, add-user, remove-user, users."""


@console.command("serve")
@config_option
@click.option("--host", default=None, help="Address to listen on (default: console.host).")
@click.option(
    "--port", type=click.IntRange(1, 65535), default=None, help="Port (default: console.port)."
)
@click.option("--threads", default=8, show_default=True, help="Worker threads.")
def serve_cmd(config_path: str | None, host: str | None, port: int | None, threads: int) -> None:
    """Serve the console (waitress, a production WSGI server) until Ctrl-C / SIGTERM."""
    from waitress import serve

    from yuqing.console import create_app
    from yuqing.console.secret import SecretError
    from yuqing.console.users import usernames
    from yuqing.store.db import session_scope

    settings = load_or_exit(config_path)
    url = open_database(settings)
    try:
        app = create_app(settings)
    except SecretError as error:
        fail(str(error))
    with session_scope(url) as session:
        if not usernames(session):
            click.echo(
                "warning: no console users yet; add one with `yuqing console add-user NAME`",
                err=True,
            )
    host = host or settings.console.host
    port = port or settings.console.port
    click.echo(
        f"console on http://{host}:{port}/  (alert links: {settings.console.base_url}"
        f"/posts/ID)  database {mask_url(url)}  signing key from "
        f"{app.config['YUQING_SECRET_SOURCE']}"
    )
    serve(app, host=host, port=port, threads=threads, ident="yuqing-console")


@console.command("add-user")
@config_option
@click.argument("username")
@click.option("--reset", is_flag=True, help="Change the password of an existing user.")
def add_user_cmd(config_path: str | None, username: str, reset: bool) -> None:
    """Add a console login (password from $YUQING_CONSOLE_PASSWORD or a prompt)."""
    from yuqing.console.users import UserError, check_password, check_username, set_user
    from yuqing.store.db import session_scope

    try:
        name = check_username(username)
    except UserError as error:
        fail(str(error))
    url = open_database(load_or_exit(config_path))  # a config error before asking anything
    password = os.environ.get(PASSWORD_ENV) or click.prompt(
        f"password for {name}", hide_input=True, confirmation_prompt=True
    )
    try:
        check_password(password)
        with session_scope(url) as session:
            created = set_user(session, name, password, replace=reset)
    except UserError as error:
        fail(str(error))
    click.echo(f"{'added' if created else 'updated'} console user {name}")


@console.command("remove-user")
@config_option
@click.argument("username")
def remove_user_cmd(config_path: str | None, username: str) -> None:
    """Remove a console login (its open sessions stop working at the next request)."""
    from yuqing.console.users import UserError, remove_user
    from yuqing.store.db import session_scope

    url = open_database(load_or_exit(config_path))
    try:
        with session_scope(url) as session:
            remove_user(session, username)
    except UserError as error:
        fail(str(error))
    click.echo(f"removed console user {username}")


@console.command("users")
@config_option
def users_cmd(config_path: str | None) -> None:
    """List console logins."""
    from yuqing.console.users import usernames
    from yuqing.store.db import session_scope

    url = open_database(load_or_exit(config_path))
    with session_scope(url) as session:
        names = usernames(session)
    click.echo("\n".join(names) if names else "no console users")
