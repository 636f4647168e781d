"""``zenhire demo``: the whole interview flow against the embedded emulator.

Create a persona, invite a few candidates, let simulated candidates interview, await every
session, print a results table, and save one transcript and one recording.

The demo runs on the testing package's virtual-time loop: candidates take minutes to open
their links and interview, exactly as the SDK's polling cadence expects, yet the whole run
takes about a second of real time. Nothing in the SDK is special-cased for it.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import anyio

from .. import SessionDetail, SessionSummary, ZenHireClient
from .._redact import hide_link
from ..testing import Emulator, Simulation
from ._output import Output
from ._results import save_results


def _row(cells: list[str], widths: list[int]) -> str:
    return "  ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True))


async def run_demo(candidates: int, out: str, seed: int, output: Output | None = None) -> int:
    """Run the demo; returns 0 when every session reached a terminal status."""
    output = output if output is not None else Output(json_mode=False)
    simulation = Simulation(open_delay=(30, 600), duration=(180, 1500), fail_probability=0.2)
    started_real, started_virtual = time.perf_counter(), anyio.current_time()
    out_dir = Path(out)
    async with Emulator(simulation=simulation, seed=seed, recording_bytes=160_044) as emu:
        print(f"Embedded emulator at {emu.base_url}\n")
        # trust_env=False: the emulator is on loopback, which an HTTP(S)_PROXY of the machine
        # would otherwise capture (NO_PROXY exempts loopback only when it lists it).
        async with ZenHireClient(api_key=emu.api_key, base_url=emu.base_url, trust_env=False) as zh:
            persona = await zh.personas.create("Senior Backend Engineer", "en")
            print(f"Persona {persona.id}  ({persona.role_name}, {persona.language})")
            invites = {}
            for n in range(1, candidates + 1):
                ref = f"ats-{n:03d}"
                invite = await zh.sessions.create(
                    persona.id, consent_mode="explicit", candidate_ref=ref, tags=["demo"]
                )
                invites[ref] = invite
                print(f"  invited {ref}: {hide_link(invite.candidate_link)}")
            print("\nWaiting for the candidates to interview…")

            results: dict[str, SessionDetail] = {}

            async def wait(ref: str, session_id: str) -> None:
                def show(s: SessionSummary) -> None:
                    minutes = (anyio.current_time() - started_virtual) / 60
                    print(f"  [{minutes:5.1f} min] {ref}: {s.status}")

                results[ref] = await zh.sessions.await_completion(
                    session_id, timeout=7200, on_status=show
                )

            async with anyio.create_task_group() as tg:
                for ref, invite in invites.items():
                    tg.start_soon(wait, ref, invite.id)

            headers = ["candidate", "status", "duration", "credits", "rating"]
            rows = [
                [
                    ref,
                    s.status,
                    f"{s.duration_sec}s" if s.duration_sec is not None else "-",
                    str(s.credit_charged) if s.credit_charged is not None else "-",
                    str(s.feedback.rating) if s.feedback else "-",
                ]
                for ref, s in sorted(results.items())
            ]
            widths = [max(len(r[i]) for r in [headers, *rows]) for i in range(len(headers))]
            print("\n" + _row(headers, widths))
            print(_row(["-" * w for w in widths], widths))
            for row in rows:
                print(_row(row, widths))

            completed = [s for s in results.values() if s.status == "completed"]
            if completed:
                first = completed[0]
                saved = await save_results(zh, first.id, out_dir, output.download_progress)
                nbytes = saved.recording_bytes
                print(
                    f"\nSaved the transcript and a {nbytes}-byte recording of "
                    f"{first.candidate_ref} to {out_dir}/"
                )
            print(f"\n{len(completed)} completed, {len(results) - len(completed)} failed.")
            virtual = (anyio.current_time() - started_virtual) / 60
            real = time.perf_counter() - started_real
            print(
                f"({virtual:.0f} minutes of interviews on the emulator's virtual clock, "
                f"{real:.1f} s of real time.)"
            )
    return 0


async def demo(args: argparse.Namespace, out: Output) -> int:
    """``zenhire demo``."""
    return await run_demo(args.candidates, args.out, args.seed, out)


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``demo`` to the command line (it runs on the emulator's virtual-time loop)."""
    p = commands.add_parser(
        "demo", help="run the whole interview flow against the embedded emulator"
    )
    p.add_argument("--candidates", type=int, default=5, help="how many to invite (default 5)")
    p.add_argument("--out", default="demo-output", help="where to save results")
    p.add_argument("--seed", type=int, default=7, help="seed of the simulated candidates")
    p.set_defaults(local_handler=demo, virtual_time=True)
