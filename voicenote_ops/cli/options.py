"""Options several commands share, declared once: the deploy lock's."""

import typer

TAKE_OVER_HELP = (
    "Take the deploy lock from a run that holds it but is dead (the audit trail records whose "
    "lock it was); without it only a re-run of the same CI run may."
)
# Checked by the services (requests.check_lock_wait in each prepare), with one sentence.
LOCK_WAIT = typer.Option(
    0, "--lock-wait", help="Seconds to wait for the deploy lock (default: refuse at once)."
)
TAKE_OVER = typer.Option(False, "--take-over", help=TAKE_OVER_HELP)
