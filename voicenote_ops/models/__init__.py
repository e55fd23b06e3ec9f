"""What the tool is asked and what it gets back, as data: the requests a service checks before
any host (requests.py), the playbooks' documented variables they are passed as
(playbook_vars.py), the results of a run (results.py) and the record a run gives back, typed
from its declaration in playbooks/vars/record.yml (record.py). No module here talks to Ansible,
a host or the terminal; runner.py turns a request's run into a result."""
