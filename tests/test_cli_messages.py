"""Exit codes and error lines of ``zenhire``: bad input exits 2 with nothing sent, and every
message names what the user can do *on the command line*.

In process (``cli.run``) against the emulator; the same codes from a child process are in
``test_cli_process``.
"""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest
from cli_support import Captured, auth_args, zenhire

from zenhire_async.cli import build_parser, run
from zenhire_async.cli._errors import code_and_message
from zenhire_async.cli._options import make_client
from zenhire_async.cli._pace import Pace
from zenhire_async.testing import Emulator

pytestmark = [pytest.mark.anyio, pytest.mark.main_thread]  # the command listens for Ctrl-C


async def _usage_error(emu: Emulator, capsys: Captured, *argv: str) -> str:
    """Run a command argparse refuses; return its stderr (and check nothing was sent)."""
    emu.reset_counts()
    capsys.readouterr()
    with pytest.raises(SystemExit) as exited:
        await run([*auth_args(emu), *argv])
    assert exited.value.code == 2
    assert sum(emu.request_counts.values()) == 0
    return capsys.readouterr().err


async def test_bad_statuses_consent_modes_and_ids_exit_2_with_nothing_sent(
    emu: Emulator, capsys: Captured, tmp_path: Path
) -> None:
    err = await _usage_error(emu, capsys, "sessions", "list", "--status", "done")
    assert "invalid choice: 'done' (choose from" in err and "completed" in err
    err = await _usage_error(emu, capsys, "invite", "--persona", "p", "--csv", "c.csv",
                             "--consent", "explicitt")  # fmt: skip
    assert "invalid choice: 'explicitt'" in err
    for argv in (
        ["sessions", "list", "--persona", "a/b"],
        ["sessions", "list", "--project", " x"],
        ["sessions", "get", "../x"],
        ["personas", "get", "a/b"],
        ["results", "x/y"],
        ["watch", "ok", "not-ok "],
        ["invite", "--persona", "a/b", "--csv", "c.csv", "--consent", "explicit"],
    ):
        err = await _usage_error(emu, capsys, *argv)
        assert "must be one non-empty path segment" in err, argv


async def test_created_after_later_than_created_before_exits_2(
    emu: Emulator, capsys: Captured
) -> None:
    emu.reset_counts()
    code, out, err = await zenhire(emu, capsys, "sessions", "list", "--created-after",
                                   "2026-05-02", "--created-before", "2026-05-01")  # fmt: skip
    assert code == 2
    assert out == ""
    assert err.strip() == (
        "error: --created-after 2026-05-02 is later than --created-before 2026-05-01: "
        "no session can match both"
    )
    assert sum(emu.request_counts.values()) == 0


async def test_a_watch_timeout_has_its_own_exit_code(emu: Emulator, capsys: Captured) -> None:
    persona = emu.create_persona("Backend", "en")
    waiting = emu.create_session(persona, candidate_ref="slow")
    code, _, err = await zenhire(emu, capsys, "watch", waiting, "--timeout", "60")
    assert code == 6
    assert err.splitlines()[-1] == "error: TIMEOUT: 1 session(s) still unfinished after 60s"


async def test_plain_http_to_another_host_is_refused_with_the_cli_flag(capsys: Captured) -> None:
    capsys.readouterr()
    code = await run(["--api-key", "zh_api_x", "--base-url", "http://zenhire.example",
                      "personas", "list"])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2
    assert err.strip() == (
        "error: --base-url http://zenhire.example is plain http to a host that is not this "
        "machine: the API key would cross the network unencrypted. Use https://, or add "
        "--allow-insecure-http to insist"
    )
    assert "allow_insecure_http" not in err and "zh_api_x" not in err


async def test_allow_insecure_http_lets_the_client_use_it(
    capsys: Captured, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = "http://10.0.0.1:9"  # never connected to: the client is only made
    monkeypatch.setenv("ZENHIRE_BASE_URL", url)
    monkeypatch.setenv("ZENHIRE_API_KEY", "zh_api_x")
    capsys.readouterr()
    assert await run(["personas", "list"]) == 2
    assert capsys.readouterr().err.startswith(f"error: $ZENHIRE_BASE_URL {url} is plain http")
    client = make_client(build_parser().parse_args(["--allow-insecure-http", "personas", "list"]))
    async with client:
        assert client.base_url == url


async def test_a_port_in_use_is_reported_as_such(emu: Emulator, capsys: Captured) -> None:
    port = emu.base_url.rsplit(":", 1)[1]
    capsys.readouterr()
    code = await run(["emulator", "--port", port])
    out, err = capsys.readouterr()
    assert code == 1
    assert out == ""
    assert err.strip() == (
        f"error: ADDRESS_IN_USE: cannot listen on 127.0.0.1:{port}: the port is in use; pick "
        "another --port (--port 0 picks a free one)"
    )


async def test_results_out_that_is_a_file_says_not_a_directory(
    emu: Emulator, capsys: Captured, tmp_path: Path
) -> None:
    persona = emu.create_persona("Backend", "en")
    session = emu.create_session(persona, candidate_ref="ats-1")
    emu.start_session(session)
    emu.complete_session(session)
    afile = tmp_path / "afile"
    afile.write_text("mine\n")
    code, _, err = await zenhire(emu, capsys, "results", session, "--out", str(afile))
    assert code == 1
    assert err.strip() == f"error: FILE: Not a directory: {afile}"
    assert afile.read_text() == "mine\n"


async def test_an_unwritable_links_file_names_it_and_says_the_journal_has_every_link(
    emu: Emulator, capsys: Captured, tmp_path: Path
) -> None:
    persona = emu.create_persona("Backend", "en")
    source = tmp_path / "c.csv"
    source.write_text("candidate_ref\nats-1\nats-2\n", encoding="utf-8")
    (tmp_path / "afile").write_text("")
    target = tmp_path / "afile" / "links.csv"  # works as root too: a file is in the way
    argv = ["invite", "--persona", persona, "--csv", str(source), "--consent", "explicit"]
    code, _, err = await zenhire(emu, capsys, *argv, "--out", str(target))
    assert code == 1
    journal = tmp_path / "c.journal.jsonl"
    assert err.splitlines()[-1] == (
        f"error: FILE: cannot write the links file {target}: Not a directory; every link is "
        f"in the journal {journal}: write them elsewhere with `zenhire links --journal "
        f"{journal} --out FILE`"
    )
    assert ".part" not in err
    assert len(emu.sessions_of()) == 2
    code, _, err = await zenhire(emu, capsys, "links", "--journal", str(journal))
    assert code == 0, err


def test_a_code_is_not_repeated_before_the_message_that_holds_it() -> None:
    message = "HTTP 401 INVALID_API_KEY: Invalid API key. (request id req_1)"
    assert code_and_message("INVALID_API_KEY", message) == (
        "INVALID_API_KEY: Invalid API key. (HTTP 401, request id req_1)"
    )
    assert code_and_message("HTTP_502", "HTTP 502: Bad gateway") == (
        "HTTP_502: Bad gateway (HTTP 502)"
    )
    assert code_and_message("INVALID_ROW", "candidate_ref is empty") == (
        "INVALID_ROW: candidate_ref is empty"
    )


async def test_the_pace_gives_rate_and_eta_on_the_loops_clock() -> None:
    pace = Pace()
    assert (pace.rate(0), pace.eta(0, 10)) == ("-/s", "-")
    await anyio.sleep(20)  # virtual time
    assert pace.rate(10) == "0.5/s" and pace.rate(10, per="min") == "30.0/min"
    assert pace.eta(10, 30) == "0:01:00"
    assert pace.eta(10, 0) == "-"
