"""The terminal summary (rich): per subject, the verdict and its findings grouped by root cause.

Everything from a submission is made visible before rich sees it (so no escape sequence it
printed or raised reaches the terminal raw) and then markup-escaped (so no ``[bold]`` in it is
taken as rich markup)."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from gradcheck.findings import GROUPS
from gradcheck.result import Result
from gradcheck.untrusted_text import visible, visible_line

_COLOUR = {"pass": "green", "fail": "red", "error": "yellow"}


def print_results(results: list[Result], console: Console | None = None) -> None:
    console = console or Console()
    for result in results:
        colour = _COLOUR[result.verdict]
        console.rule(f"[bold]{_line(result.subject)}[/] [{colour}]{result.verdict.upper()}[/]")
        for title, codes in GROUPS:
            group = [f for f in result.findings if f.code in codes]
            if not group:
                continue
            table = Table(title=title, title_justify="left", show_header=True, expand=True)
            table.add_column("code", style="bold", no_wrap=True)
            table.add_column("op", no_wrap=True)
            table.add_column("what is wrong", ratio=3)
            table.add_column("where", ratio=1)
            for f in group:
                where = str(f.location) if f.location else ""
                if f.location and f.location.text:
                    where += f"\n{f.location.text}"
                op = f.op or ""
                if f.inherited_by:  # one root cause, and the ops that show it through this one
                    op += "\n(also " + ", ".join(f.inherited_by) + ")"
                table.add_row(_line(f.code), _text(op), _text(f.message), _text(where))
            console.print(table)
        _print_fixes(result, console)
        first = next((f for f in result.findings if f.severity == "error" and f.evidence.get("snippet")), None)
        if first is not None:
            console.print(Panel(_text(first.evidence["snippet"]),
                                title=f"reproduce {_line(first.code)} in your notebook", expand=False))
        if result.harness_error is not None:
            console.print(f"[yellow]gradcheck could not judge it:[/] {_text(result.harness_error)}")
        if result.isolation and result.isolation != "bubblewrap":
            console.print(f"[yellow]isolation: {escape(result.isolation)}[/] (see `gradcheck doctor`)")
        stats = result.stats
        if stats:
            console.print(f"[dim]{stats.get('cases', 0)} generated cases; oracles agreed on "
                          f"{stats.get('oracle_agreed', 0)}, disagreed on "
                          f"{sum(stats.get('oracle_discarded', {}).values())} (discarded)[/]")
    passed = sum(r.passed for r in results)
    console.print(f"\n[bold]{passed} of {len(results)} passed[/]")


def _print_fixes(result: Result, console: Console) -> None:
    """Each verified fix as a diff under its finding's place (notebook cell and line); a fix
    that could not be verified is named, never shown as a diff."""
    if result.patch is None:
        return
    for f in result.findings:
        fix = result.fix_for(f)
        if fix is None:
            continue
        what = f"{_line(f.code)}" + (f" in {_line(f.op)}" if f.op else "")
        where = ""
        if f.location is not None and f.location.line:
            cell = f"cell {f.location.cell}, " if f.location.cell is not None else ""
            where = f" ({cell}line {f.location.line})"
        if not fix["verified"]:
            console.print(f"[dim]a fix for {what} was tried but not verified: not shown[/]")
            continue
        passed = [c for c, state in fix["checks_after"].items() if state == "pass"]
        proof = (f"all checks for {_line(f.op)} pass after this change"
                 if f.op and len(passed) == len(fix["checks_after"]) else "its finding is gone, no new error")
        kind = "rewrite" if fix["rewrite"] else "fix"
        body = Text(visible(fix["summary"]) + "\n", style="bold")
        for line in visible(fix["diff"]).splitlines():
            style = ("green" if line.startswith("+") and not line.startswith("+++") else
                     "red" if line.startswith("-") and not line.startswith("---") else "dim")
            body.append(line + "\n", style=style)
        console.print(Panel(body, expand=False,
                            title=f"{kind} for {what}{where}",
                            subtitle=f"[green]verified[/]: {proof}"))
    if result.patch.get("diff"):
        passes = result.patch.get("verdict_after") == "pass"
        console.print(("[green]with these fixes every check passes[/]" if passes else
                       "[yellow]with these fixes some findings remain[/]")
                      + " (write them with --patch FILE)")


def _text(untrusted: str) -> str:
    """Untrusted text that may span lines, as literal rich markup."""
    return escape(visible(untrusted))


def _line(untrusted: str) -> str:
    """One untrusted line, as literal rich markup."""
    return escape(visible_line(untrusted))
