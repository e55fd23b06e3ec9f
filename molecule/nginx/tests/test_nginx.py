"""nginx: HTTPS through the load balancer reaches the app hosts' nginx; TLS, redirects, checks.

The app itself is not deployed here: the app site's own /nginx-health answers 200 with the
X-Voicenote-App-Host header, and anything else answers 502 from the app site (no live color).
"""

import pytest

pytestmark = pytest.mark.molecule


def curl(host, url, *options):
    """Status line and headers of a request made on a host."""
    return host.run(f"curl -sS -o /dev/null -D - --max-time 5 {' '.join(options)} {url}")


def test_https_through_the_lb_reaches_the_app_hosts_nginx(hosts):
    response = curl(hosts["lb1"], "https://127.0.0.1/nginx-health", "-k")
    assert response.rc == 0, response.stderr
    assert response.stdout.startswith("HTTP/2 200")
    assert "x-voicenote-app-host: app1" in response.stdout.lower()


def test_app_requests_without_a_running_color_are_502_from_the_app_site(hosts):
    response = curl(hosts["lb1"], "https://127.0.0.1/v1/notes", "-k")
    assert response.stdout.startswith("HTTP/2 502")
    assert "x-voicenote-color: blue" in response.stdout.lower()


def test_http_redirects_to_https_and_the_lb_has_its_own_health(hosts):
    redirect = curl(hosts["lb1"], "http://127.0.0.1/v1/notes?page=2").stdout.lower()
    assert redirect.splitlines()[0].startswith("http/1.1 308")
    assert "location: https://127.0.0.1/v1/notes?page=2" in redirect
    assert "200" in curl(hosts["lb1"], "http://127.0.0.1/lb-health").stdout.splitlines()[0]


def handshake(host, *options):
    """A TLS handshake with the load balancer from the lb itself: what was agreed, or the alert."""
    return host.run(
        "openssl s_client -brief -connect 127.0.0.1:443 -servername voicenote.lab.test "
        f"{' '.join(options)} </dev/null"
    )


@pytest.mark.parametrize("version", ["1.2", "1.3"])
def test_tls_1_2_and_1_3_are_accepted(hosts, version):
    result = handshake(hosts["lb1"], f"-tls{version.replace('.', '_')}")
    assert result.rc == 0, result.stderr
    assert f"Protocol version: TLSv{version}" in result.stderr


def test_tls_1_1_is_refused_by_the_server(hosts):
    # SECLEVEL=0 lets this client offer TLS 1.1 (OpenSSL 3 does not by default), so the refusal
    # is the server's protocol_version alert, not the client giving up.
    result = handshake(hosts["lb1"], "-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0")
    assert result.rc != 0
    assert "alert protocol version" in result.stderr, result.stderr


def test_tls_1_2_agrees_on_forward_secret_aead_ciphers_only(hosts):
    lb = hosts["lb1"]
    # The client's order wins (ssl_prefer_server_ciphers off): the server's list starts with
    # AES128-GCM, this client's with ChaCha20.
    agreed = handshake(
        lb, "-tls1_2", "-cipher", "ECDHE-RSA-CHACHA20-POLY1305:ECDHE-RSA-AES128-GCM-SHA256"
    )
    assert "Ciphersuite: ECDHE-RSA-CHACHA20-POLY1305" in agreed.stderr, agreed.stderr
    assert "Server Temp Key: X25519" in agreed.stderr
    # RSA key exchange, CBC, DHE: each in Debian's default list, none in the guideline's.
    for weak in ("AES128-SHA", "ECDHE-RSA-AES128-SHA", "DHE-RSA-AES128-GCM-SHA256"):
        result = handshake(lb, "-tls1_2", "-cipher", weak)
        assert result.rc != 0 and "alert handshake failure" in result.stderr, (weak, result.stderr)


def test_key_exchange_only_on_the_guideline_groups(hosts):
    lb = hosts["lb1"]
    assert handshake(lb, "-tls1_3", "-groups", "secp384r1").rc == 0
    refused = handshake(lb, "-tls1_3", "-groups", "secp521r1")
    assert refused.rc != 0 and "alert handshake failure" in refused.stderr, refused.stderr


def test_every_https_answer_carries_hsts_and_http_none(hosts):
    lb = hosts["lb1"]
    hsts = "strict-transport-security: max-age=63072000\r"
    for path in ("/nginx-health", "/v1/notes", "/lb-health"):
        headers = curl(lb, f"https://127.0.0.1{path}", "-k").stdout.lower()
        assert headers.count("strict-transport-security") == 1 and hsts in headers, (path, headers)
    assert "strict-transport-security" not in curl(lb, "http://127.0.0.1/lb-health").stdout.lower()


def test_certificate_names_the_domain_and_its_key_is_root_only(hosts):
    lb = hosts["lb1"]
    subject = lb.run("openssl x509 -noout -subject -in /etc/ssl/voicenote/voicenote.lab.test.crt")
    assert "CN = voicenote.lab.test" in subject.stdout
    key = lb.file("/etc/ssl/voicenote/voicenote.lab.test.key")
    assert (key.user, key.group, key.mode) == ("root", "root", 0o600)


def test_app_site_listens_on_the_private_address_only(listening_on, address):
    assert listening_on("app1", 8080) == {f"{address('app1')}:8080"}
    assert listening_on("app1", 80) == set()


def test_app_site_is_not_reachable_from_the_lb_on_other_addresses(hosts, address):
    assert curl(hosts["app1"], "http://127.0.0.1:8080/nginx-health").rc != 0
    assert curl(hosts["lb1"], f"http://{address('app1')}:8080/nginx-health").rc == 0


def test_lb_upstream_lists_every_app_host_with_passive_checks(hosts, address):
    site = hosts["lb1"].file("/etc/nginx/sites-available/voicenote-lb.conf").content_string
    assert f"server {address('app1')}:8080 max_fails=3 fail_timeout=10s;" in site
    assert "proxy_next_upstream error timeout http_502 http_503 http_504;" in site


def test_upstream_file_is_separate_for_the_deploy(hosts):
    upstream = hosts["app1"].file("/etc/nginx/voicenote/live-upstream.conf")
    assert "server 127.0.0.1:8001;" in upstream.content_string
    assert (upstream.user, upstream.group, upstream.mode) == ("root", "root", 0o644)


def test_configuration_passes_nginx_t_and_default_site_is_gone(hosts):
    for name in ("lb1", "app1"):
        assert hosts[name].run("nginx -t").rc == 0
        assert not hosts[name].file("/etc/nginx/sites-enabled/default").exists
