"""The ``zenhire`` command as users run it: a separate process, configured by environment.

These run on a real-time loop: the emulator serves from this test's loop while the command
runs in a child process.
"""

from __future__ import annotations

import signal
import stat
import sys
from pathlib import Path

import anyio
import pytest
from anyio.streams.text import TextReceiveStream
from cli_process_support import child_env, zenhire

from zenhire_async.testing import Emulator

pytestmark = [pytest.mark.anyio, pytest.mark.real_time]


async def test_commands_in_a_pipe_use_the_environment_and_print_plain_text(
    emu: Emulator, tmp_path: Path
) -> None:
    created = await zenhire("personas", "create", "--role", "Backend", "--language", "en", emu=emu)
    assert created.returncode == 0, created.stderr
    persona_id = created.stdout.strip()
    session_id = emu.create_session(persona_id, candidate_ref="ats-1")
    emu.start_session(session_id)
    emu.complete_session(session_id, duration_sec=300)

    listed = await zenhire("sessions", "list", emu=emu)
    assert listed.returncode == 0
    assert listed.stdout.splitlines()[0].split()[:3] == ["id", "candidate_ref", "status"]
    assert session_id in listed.stdout and "completed" in listed.stdout
    assert "\x1b[" not in listed.stdout + listed.stderr  # no colours in a pipe

    saved = await zenhire("results", session_id, "--out", "res", emu=emu, cwd=tmp_path)
    assert saved.returncode == 0, saved.stderr
    assert "\x1b[" not in saved.stderr and "━" not in saved.stderr  # no bar in a pipe
    wav = tmp_path / "res" / f"{session_id}.wav"
    assert wav.stat().st_size == emu.recording_bytes
    assert stat.S_IMODE(wav.stat().st_mode) == 0o600
    transcript = tmp_path / "res" / f"{session_id}.transcript.json"
    assert stat.S_IMODE(transcript.stat().st_mode) == 0o600


async def test_api_error_is_one_line_and_exit_code_without_traceback(emu: Emulator) -> None:
    result = await zenhire("sessions", "get", "missing-id", emu=emu)
    assert result.returncode == 1
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith("error: NOT_FOUND: ") and "request id req_" in line

    other = Emulator()
    result = await zenhire("--base-url", emu.base_url, "--api-key", other.api_key,
                           "personas", "list")  # fmt: skip
    assert result.returncode == 4
    assert result.stderr.startswith("error: INVALID_API_KEY: ")
    assert other.api_key not in result.stderr


async def test_console_script_is_installed() -> None:
    script = Path(sys.executable).parent / "zenhire"
    result = await anyio.run_process([str(script), "--version"], check=False)
    assert result.returncode == 0
    assert result.stdout.decode().startswith("zenhire-async ")


async def test_emulator_command_serves_until_sigterm() -> None:
    command = [sys.executable, "-m", "zenhire_async", "emulator", "--port", "0", "--simulate"]
    async with await anyio.open_process(command, env=child_env()) as proc:
        assert proc.stdout is not None
        banner = ""
        with anyio.fail_after(30):
            async for text in TextReceiveStream(proc.stdout):
                banner += text
                if "Press Ctrl-C to stop." in banner:
                    break
        exports = dict(
            line.strip().removeprefix("export ").split("=", 1)
            for line in banner.splitlines()
            if line.strip().startswith("export ")
        )
        assert exports["ZENHIRE_BASE_URL"].startswith("http://127.0.0.1:")
        assert exports["ZENHIRE_API_KEY"].startswith("zh_api_")
        with anyio.fail_after(60):
            created = await anyio.run_process(
                [sys.executable, "-m", "zenhire_async", "personas", "create",
                 "--role", "Engineer", "--language", "en"],
                env=child_env(**exports),
                check=False,
            )  # fmt: skip
        assert created.returncode == 0, created.stderr
        proc.send_signal(signal.SIGTERM)
        rest = ""
        with anyio.fail_after(30):
            async for text in TextReceiveStream(proc.stdout):
                rest += text
            assert await proc.wait() == 0
        assert "Stopping (SIGTERM)." in rest


async def test_demo_runs_the_whole_flow(tmp_path: Path) -> None:
    result = await zenhire("demo", "--candidates", "3", "--out", "out", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Persona " in result.stdout and "invited ats-003" in result.stdout
    assert "#t=***" in result.stdout and "#t=" not in result.stdout.replace("#t=***", "")
    table = result.stdout.split("candidate  status", 1)[1]
    assert "ats-001" in table and "ats-003" in table
    files = sorted((tmp_path / "out").iterdir())
    assert [f.suffix for f in files] == [".json", ".wav"]
    assert all(stat.S_IMODE(f.stat().st_mode) == 0o600 for f in files)


async def test_the_core_does_not_import_rich() -> None:
    code = (
        "import sys, zenhire_async, zenhire_async.testing, zenhire_async.cli; "
        "sys.exit('rich' in sys.modules)"
    )
    result = await anyio.run_process([sys.executable, "-c", code], env=child_env(), check=False)
    assert result.returncode == 0


async def test_the_command_works_without_rich(emu: Emulator) -> None:
    emu.create_persona("Backend", "en")
    code = (
        "import sys; sys.modules['rich'] = None; "  # makes `import rich` fail
        "from zenhire_async.cli import main; sys.exit(main(['personas', 'list']))"
    )
    result = await anyio.run_process([sys.executable, "-c", code], env=child_env(emu), check=False)
    assert result.returncode == 0, result.stderr
    assert "Backend" in result.stdout.decode()


async def test_exit_codes_of_bad_input_a_timeout_and_a_port_in_use(emu: Emulator) -> None:
    persona_id = emu.create_persona("Backend", "en")
    waiting = emu.create_session(persona_id, candidate_ref="slow")
    emu.reset_counts()
    for argv in (
        ["sessions", "list", "--status", "done"],
        ["sessions", "list", "--created-after", "2026-05-02", "--created-before", "2026-05-01"],
        ["sessions", "get", "a/b"],
    ):
        result = await zenhire(*argv, emu=emu)
        assert result.returncode == 2, (argv, result.stderr)
        assert "Traceback" not in result.stderr
    assert sum(emu.request_counts.values()) == 0  # bad input: nothing sent

    result = await zenhire("watch", waiting, "--timeout", "0.5", emu=emu)
    assert result.returncode == 6, result.stderr
    assert result.stderr.splitlines()[-1].startswith("error: TIMEOUT: 1 session(s) still")

    port = emu.base_url.rsplit(":", 1)[1]
    result = await zenhire("emulator", "--port", port)
    assert result.returncode == 1
    assert result.stderr.startswith(f"error: ADDRESS_IN_USE: cannot listen on 127.0.0.1:{port}")
