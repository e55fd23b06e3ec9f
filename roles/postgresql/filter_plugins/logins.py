"""The SQL that brings the app's roles to what the inventory asks, from what the server holds.

The owner role owns the app's database and its tables. The app logs in either as the owner itself
(the default) or, once its password was rotated, as one of the owner's member roles, which
inherit its privileges and act as it (`ALTER ROLE ... SET role`, so tables a migration creates
belong to the owner). A rotation keeps two logins valid at once: the one the app uses and the one
it moves to. Every other login of the owner's (the owner itself included) loses its password and
its right to log in. Passwords reach the server as SCRAM verifiers, never as plain text.
"""

import importlib.util
from pathlib import Path

_spec = importlib.util.spec_from_file_location("scram", Path(__file__).with_name("scram.py"))
_scram = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_scram)

ATTRIBUTES = "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE INHERIT"


def quote_identifier(name):
    """A role name as an SQL identifier, whatever it holds."""
    return '"' + str(name).replace('"', '""') + '"'


def _login_statements(role, owner, password, found):
    name = quote_identifier(role)
    held = found.get(role)
    verifier = held["verifier"] if held else ""
    statements = []
    if held is None:
        member = f" IN ROLE {quote_identifier(owner)}" if role != owner else ""
        statements.append(
            f"CREATE ROLE {name} {ATTRIBUTES} PASSWORD "
            f"'{_scram.scram_sha256_verifier(password)}'{member};"
        )
    elif not (
        held["login"] and not held["super"] and _scram.scram_sha256_matches(verifier, password)
    ):
        statements.append(
            f"ALTER ROLE {name} {ATTRIBUTES} PASSWORD '{_scram.scram_sha256_verifier(password)}';"
        )
    if role != owner:
        if held is not None and not held["member"]:
            statements.append(f"GRANT {quote_identifier(owner)} TO {name};")
        if f"role={owner}" not in ((held or {}).get("settings") or []):
            statements.append(f"ALTER ROLE {name} SET role = {quote_identifier(owner)};")
    return statements


def postgresql_login_statements(found, owner, logins):
    """Statements (in order) that make `logins` ([{name, password}], the first the one the app
    uses) the only logins of the owner's, from `found` (role name to {login, super, verifier,
    member, settings}: the owner, the logins asked for and the owner's members)."""
    wanted = [login for login in logins if login.get("name")]
    names = [login["name"] for login in wanted]
    statements = []
    if owner not in found and owner not in names:
        statements.append(f"CREATE ROLE {quote_identifier(owner)} NOLOGIN;")
    # The owner first when it logs in itself: its members are created IN ROLE it.
    for login in sorted(wanted, key=lambda login: login["name"] != owner):
        statements += _login_statements(login["name"], owner, login["password"], found)
    for role, held in sorted(found.items()):
        if role in names or not (role == owner or held["member"]):
            continue
        if held["login"] or held["verifier"]:
            statements.append(f"ALTER ROLE {quote_identifier(role)} NOLOGIN PASSWORD NULL;")
    return statements


class FilterModule:
    def filters(self):
        return {"postgresql_login_statements": postgresql_login_statements}
