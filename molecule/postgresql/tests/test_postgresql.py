"""postgresql: the app's database reachable from the app hosts with the password, nowhere else."""

import shlex

import pytest

pytestmark = pytest.mark.molecule


def psql(host, db_address, password, sql="SELECT current_user"):
    """psql as the app's role from a host; the password goes in PGPASSWORD, not argv."""
    command = (
        f"PGPASSWORD={shlex.quote(password)} PGCONNECT_TIMEOUT=5 psql -X -At "
        f"-h {db_address} -U voicenote -d voicenote -c {shlex.quote(sql)}"
    )
    return host.run(command)


def test_app_host_logs_in_with_the_app_password(hosts, address, secrets):
    result = psql(hosts["app1"], address("db1"), secrets["vault_postgresql_app_password"])
    assert result.rc == 0, result.stderr
    assert result.stdout.strip() == "voicenote"


def test_app_role_can_create_tables_in_its_database(hosts, address, secrets):
    sql = "CREATE TABLE IF NOT EXISTS molecule_probe (id int); DROP TABLE molecule_probe"
    result = psql(hosts["app1"], address("db1"), secrets["vault_postgresql_app_password"], sql)
    assert result.rc == 0, result.stderr


def test_app_host_with_a_wrong_password_is_refused(hosts, address):
    result = psql(hosts["app1"], address("db1"), "not-the-password")
    assert result.rc != 0
    assert "password authentication failed" in result.stderr


def test_lb_host_is_rejected_even_with_the_password(hosts, address, secrets):
    result = psql(hosts["lb1"], address("db1"), secrets["vault_postgresql_app_password"])
    assert result.rc != 0
    assert "pg_hba.conf rejects connection" in result.stderr


def test_listens_on_the_private_address_only(listening_on, address):
    listening = listening_on("db1", 5432)
    assert f"{address('db1')}:5432" in listening
    assert not listening & {"0.0.0.0:5432", "*:5432", "[::]:5432"}


def test_password_is_stored_as_a_scram_verifier(hosts):
    result = hosts["db1"].run(
        "sudo -u postgres psql -X -At -c "
        "\"SELECT rolpassword LIKE 'SCRAM-SHA-256$%' FROM pg_authid WHERE rolname = 'voicenote'\""
    )
    assert result.stdout.strip() == "t"


def test_pg_hba_is_readable_by_postgres_only(hosts):
    hba = hosts["db1"].file("/etc/postgresql/15/main/pg_hba.conf")
    assert (hba.user, hba.group, hba.mode) == ("postgres", "postgres", 0o640)
