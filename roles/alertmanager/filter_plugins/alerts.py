"""firing_alerts: Alertmanager's API answer (GET /api/v2/alerts) as the short records the CLI,
the deploy's alert guard and the audit trail use, oldest first."""


def firing_alerts(answer):
    """[{name, severity, host, summary, since}] of the alerts in `answer` that are active."""
    records = []
    for alert in answer or []:
        if (alert.get("status") or {}).get("state", "active") != "active":
            continue
        labels, annotations = alert.get("labels") or {}, alert.get("annotations") or {}
        records.append({
            "name": labels.get("alertname", ""),
            "severity": labels.get("severity", ""),
            "host": labels.get("host", ""),
            "summary": annotations.get("summary", ""),
            "since": alert.get("startsAt", ""),
        })  # fmt: skip
    return sorted(records, key=lambda record: (record["since"], record["name"], record["host"]))


class FilterModule:
    def filters(self):
        return {"firing_alerts": firing_alerts}
