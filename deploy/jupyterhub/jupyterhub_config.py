"""JupyterHub for a class on one machine: local system accounts, each student's JupyterLab as that user.

Start it with deploy/jupyterhub/start.sh (as root: the hub checks passwords with PAM and starts
each student's server as the student). Settings come from the environment, so one file serves
a classroom and the test (tests/test_hub.py):

  TFCOURSE_HUB_IP, TFCOURSE_HUB_PORT   where students connect (default: every address, port 8000)
  TFCOURSE_HUB_GROUP                   the Unix group whose members may log in (default: tfcourse-students)
  TFCOURSE_HUB_ADMINS                  comma-separated teachers' accounts (hub admins)
  TFCOURSE_HUB_STATE                   the hub's database, cookie secret and proxy pid (default: /var/lib/tfcourse-hub)
  TFCOURSE_HUB_COURSE                  the checkout whose notebooks/ each student gets (default: this one)
  TFCOURSE_HUB_MEMORY_MB, TFCOURSE_HUB_PROCESSES   per-student limits (default: 4096 MiB per process, 512)
  TFCOURSE_HUB_SERVICE_TOKEN           a token for the teacher's scripts (service "tfcourse-teacher")
  TFCOURSE_HUB_API_PORT, TFCOURSE_HUB_PROXY_API_PORT   the hub's internal ports (default: 8081, 8001)
"""

import os
import pathlib
import pwd
import shutil
import sys

c = get_config()  # noqa: F821 - JupyterHub defines it when it loads this file

HERE = pathlib.Path(__file__).resolve().parent
COURSE = pathlib.Path(os.environ.get("TFCOURSE_HUB_COURSE") or HERE.parents[1])
STATE = pathlib.Path(os.environ.get("TFCOURSE_HUB_STATE") or "/var/lib/tfcourse-hub")
STATE.mkdir(mode=0o700, parents=True, exist_ok=True)
GROUP = os.environ.get("TFCOURSE_HUB_GROUP", "tfcourse-students")
MEMORY_MB = int(os.environ.get("TFCOURSE_HUB_MEMORY_MB", "4096"))
PROCESSES = int(os.environ.get("TFCOURSE_HUB_PROCESSES", "512"))

c.JupyterHub.bind_url = f"http://{os.environ.get('TFCOURSE_HUB_IP', '')}:{os.environ.get('TFCOURSE_HUB_PORT', '8000')}"
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = int(os.environ.get("TFCOURSE_HUB_API_PORT", "8081"))
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{os.environ.get('TFCOURSE_HUB_PROXY_API_PORT', '8001')}"
c.ConfigurableHTTPProxy.pid_file = str(STATE / "proxy.pid")
c.JupyterHub.db_url = f"sqlite:///{STATE / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(STATE / "jupyterhub_cookie_secret")
# Stopping the hub stops every student's server and the proxy: nothing outlives the class.
c.JupyterHub.cleanup_servers = True
c.JupyterHub.cleanup_proxy = True

# Local system users, checked by PAM; only the class's group (and the teachers) may log in.
c.JupyterHub.authenticator_class = "jupyterhub.auth.PAMAuthenticator"
c.PAMAuthenticator.allowed_groups = {GROUP}
c.Authenticator.admin_users = {name for name in os.environ.get("TFCOURSE_HUB_ADMINS", "").split(",") if name}

# Each student's JupyterLab runs as the student (the hub is root and drops to their uid), in
# their copy of the course, with rlimits: the address space of each process and the number of
# processes and threads of the student (the local spawner has no cgroups; SystemdSpawner has).
c.JupyterHub.spawner_class = "jupyterhub.spawner.LocalProcessSpawner"
c.Spawner.default_url = "/lab"
c.Spawner.notebook_dir = "~/tfcourse"
c.Spawner.cmd = ["prlimit", f"--as={MEMORY_MB << 20}", f"--nproc={PROCESSES}", "--",
                 str(pathlib.Path(sys.executable).parent / "jupyterhub-singleuser")]
c.Spawner.mem_limit = f"{MEMORY_MB}M"  # shown to the server (MEM_LIMIT); prlimit is what enforces it
c.Spawner.env_keep = ["PATH", "PYTHONPATH", "LANG", "LC_ALL", "TFCOURSE_SMOKE", "TFCOURSE_DATA_DIR"]
c.Spawner.http_timeout = 120  # a loaded machine may take a minute to start JupyterLab
c.Spawner.start_timeout = 120


def _run_folder(spawner):
    return os.path.join(pwd.getpwnam(spawner.user.name).pw_dir, "tfcourse-runs")


# Every run of the student's (the CLI's, the notebooks') goes under their home, created 0700.
c.Spawner.environment = {"TFCOURSE_RUNS": _run_folder}


def hand_out_course(spawner):
    """At a student's first start, copies the course's notebooks to ~/tfcourse (theirs to edit);
    a later start keeps their work. The home is made private (0700)."""
    user = pwd.getpwnam(spawner.user.name)
    os.chmod(user.pw_dir, 0o700)
    target = pathlib.Path(user.pw_dir) / "tfcourse"
    if target.exists():
        return
    shutil.copytree(COURSE / "notebooks", target,
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__", "conftest.py"))
    for path in [target, *target.rglob("*")]:
        os.chown(path, user.pw_uid, user.pw_gid)


c.Spawner.pre_spawn_hook = hand_out_course

# The teacher's scripts (and the test) act through this service: start servers, issue a
# student's token, collect. Without TFCOURSE_HUB_SERVICE_TOKEN there is no such service.
if os.environ.get("TFCOURSE_HUB_SERVICE_TOKEN"):
    c.JupyterHub.services = [{"name": "tfcourse-teacher", "api_token": os.environ["TFCOURSE_HUB_SERVICE_TOKEN"]}]
    c.JupyterHub.load_roles = [{"name": "tfcourse-teacher", "services": ["tfcourse-teacher"],
                                "scopes": ["admin:users", "admin:servers", "tokens", "access:servers",
                                           "list:users", "read:users"]}]
