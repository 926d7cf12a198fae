# socklab — the sockets lab in containers. `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON  ?= python3
VENV    := .venv
PY      := $(VENV)/bin/python
PROJECT ?= socklab
# root installs directly; anyone else through sudo
SUDO    := $(if $(filter 0,$(shell id -u)),,sudo)
APT     := $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get
APT_INSTALL := $(APT) update -qq && $(APT) install -y -qq
# docker compose v2 when it exists, else docker-compose v1: worked out only by targets that use it, once
COMPOSE  = $(eval COMPOSE := $(shell if docker compose version >/dev/null 2>&1; then echo "docker compose"; \
                   elif command -v docker-compose >/dev/null 2>&1; then echo docker-compose; fi))$(COMPOSE)
DC       = $(COMPOSE) -p $(PROJECT) -f compose.yaml

.PHONY: help venv mmdebstrap chromium tools images up down shell-server shell-client watch impair ladder compose-v2 logs test test-unit \
        scenario-tcp scenario-udp scenarios validate bench probe grade check soak clean clean-runs clean-images prune-images lock \
        cluster-up cluster-down

help: ## this list
	@grep -hE '^[a-zA-Z0-9_%-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{sub("%", "NAME", $$1); printf "  make %-14s %s\n", $$1, $$2}'

# ---- what the targets need, installed on first use -------------------------------------------
$(VENV)/.installed: requirements.txt pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is needed"'
	@$(PYTHON) -c 'import ensurepip' 2>/dev/null || { $(APT_INSTALL) python3-venv; }
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --disable-pip-version-check -r requirements.txt
	$(VENV)/bin/pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
	@touch $@

venv: $(VENV)/.installed ## the Python environment (pinned: requirements.txt)

mmdebstrap: # builds the images' root filesystems from Debian packages
	@command -v mmdebstrap >/dev/null || { $(APT_INSTALL) mmdebstrap; }

chromium: # the reports' tests open them in Debian's headless Chromium, driven through its chromium-driver
	@test -x /usr/bin/chromedriver -a -x /usr/bin/chromium || { $(APT_INSTALL) chromium chromium-driver; }

# (tools probes for compose itself: COMPOSE is worked out once, and must not be before the install)
tools: mmdebstrap ## mmdebstrap (builds the images) and a compose tool, installed if missing
	@docker compose version >/dev/null 2>&1 || command -v docker-compose >/dev/null || { $(APT_INSTALL) docker-compose; }

images: venv mmdebstrap ## build the images if their inputs changed (Debian packages + mmdebstrap, no registry)
	@$(PY) -m orchestrator images

# ---- scenarios: the assignment played and checked by the orchestrator -------------------------
# (the orchestrator builds any image that is missing itself, so these need only the venv and tools)
# PROGRAMS=DIR: a submission's programs instead of the reference ones (make scenario-tcp PROGRAMS=mine)
RUN_PROGRAMS = $(if $(PROGRAMS),--programs "$(PROGRAMS)")

scenario-tcp: venv mmdebstrap ## play the assignment's TCP exchange (Figure 3) across containers and check it
	$(PY) -m orchestrator run scenarios/tcp.yaml $(RUN_PROGRAMS)

scenario-udp: venv mmdebstrap ## play the UDP exchange (Figure 4) and check it
	$(PY) -m orchestrator run scenarios/udp.yaml $(RUN_PROGRAMS)

scenario-%: venv mmdebstrap ## play scenarios/NAME.yaml (make scenario-tcp-clients PROGRAMS=DIR)
	$(PY) -m orchestrator run scenarios/$*.yaml $(RUN_PROGRAMS)

grade: venv mmdebstrap ## grade a class: make grade SUBMISSIONS=EXPORT [FORMAT=moodle|canvas|blackboard|git|folders] [JOBS=N] (README, Grading)
	@test -n "$(SUBMISSIONS)" || { echo "usage: make grade SUBMISSIONS=EXPORT (the class as the platform hands it over: a folder or its .zip)"; exit 2; }
	$(PY) -m orchestrator grade "$(SUBMISSIONS)"$(if $(FORMAT), --format $(FORMAT)) $(if $(JOBS),-j $(JOBS))

check: venv mmdebstrap ## a student's check: make check PROGRAMS=DIR plays the suite on one submission, as grading would
	@test -n "$(PROGRAMS)" || { echo "usage: make check PROGRAMS=DIR (a folder with your programs)"; exit 2; }
	$(PY) -m orchestrator check "$(PROGRAMS)"

# every scenario file but the suite: it lists scenarios and weights for grade and check, and `run` plays only scenarios
SCENARIOS = $(filter-out scenarios/suite.yaml,$(sort $(wildcard scenarios/*.yaml)))

scenarios: venv mmdebstrap ## play every scenario in scenarios/
	$(PY) -m orchestrator run $(SCENARIOS)

validate: venv mmdebstrap ## check every scenario file and the suite (display filters by tshark) without running anything
	$(PY) -m orchestrator validate scenarios/*.yaml

bench: venv tools ## warm scenario-tcp (median of 10) against the same exchange scripted with docker-compose
	$(PY) bench/bench.py

probe: venv mmdebstrap ## the reliability probe: hostile submissions, broken input, signals, runs under load
	$(PY) -m bench.probe $(PROBE_ARGS)

# ---- the lab by hand ---------------------------------------------------------------------------
up: images tools ## start the lab: server, client and the capture (pcap in ./captures)
	@mkdir -p captures && chmod 1777 captures  # tcpdump (root without DAC_OVERRIDE) creates the pcap there
	$(DC) up -d
	@$(PY) -m orchestrator wait-log --container "$$($(DC) ps -q capture)" --pattern 'listening on' --timeout 20
	@echo; echo "The lab is up: 'make shell-server' and 'make shell-client' (two terminals), 'make watch' for packets."
	@echo "Capture: $$(ls -t captures/*.pcap | head -1)"

down: ## stop the capture (SIGINT, so the pcap is whole), then remove the lab (and the delayers of make impair)
	-@for c in $$($(DC) ps -q); do docker ps -aq --filter "label=socklab.delayer=$$c" | xargs -r docker rm -f >/dev/null; done
	-$(DC) stop capture
	$(DC) down --remove-orphans --timeout 3
	@ls -t captures/*.pcap 2>/dev/null | head -1 | sed 's/^/Capture: /'
	@ls captures/*.pcap >/dev/null 2>&1 && echo "Its ladder diagram: make ladder" || true

shell-server: ## a shell on the server (as the unprivileged user 'student')
	$(DC) exec server bash

shell-client: ## a shell on the client
	$(DC) exec client bash

# the capture filter of compose.yaml's capture: without the host's own chatter on the lab's bridge
CAPTURE_FILTER := not ip6 and not host 10.77.0.1 and not src host 0.0.0.0

# tcpdump opens the interface and drops to the analyst; tshark dissects what it passes on as the analyst too:
# the traffic comes from programs we do not trust, and Wireshark's dissectors are never run as root here
watch: ## the live capture in the server's network namespace, decoded by tshark (Ctrl-C to stop)
	$(DC) exec $$([ -t 0 ] || echo -T) capture sh -c 'tcpdump -i eth0 -n -p -U -Z analyst -w - "$$1" 2>/dev/null \
	  | exec setpriv --reuid=analyst --regid=analyst --clear-groups tshark -l -n -r -' sh '$(CAPTURE_FILTER)'

# LOSS=20% DELAY=100ms JITTER=10ms DUPLICATE=5% REORDER=25% RATE=1mbit, on both computers' links (each loses a
# share of what reaches it; delays what it sends); HOSTS=server to impair one. With none of them: cleared.
HOSTS ?= server client
impair: ## make the running lab's links lose or delay packets: make impair LOSS=20% [DELAY=100ms]; no arguments clear
	$(PY) -m orchestrator impair $$(for h in $(HOSTS); do $(DC) ps -q $$h; done) \
	  $(if $(LOSS),--loss $(LOSS)) $(if $(DELAY),--delay $(DELAY)) $(if $(JITTER),--jitter $(JITTER)) \
	  $(if $(DUPLICATE),--duplicate $(DUPLICATE)) $(if $(REORDER),--reorder $(REORDER)) $(if $(RATE),--rate $(RATE))

ladder: venv ## the ladder diagram (SVG) of a capture: make ladder [PCAP=captures/lab-....pcap] (default: the latest)
	@pcap="$(or $(PCAP),$$(ls -t captures/*.pcap 2>/dev/null | head -1))"; \
	  test -n "$$pcap" || { echo "usage: make ladder PCAP=FILE (no capture in captures/: make up, then make down)"; exit 2; }; \
	  $(PY) -m orchestrator ladder "$$pcap"

logs: ## the lab's container logs
	$(DC) logs

# ---- the cluster on this host: a scheduler and lab machines in containers (docs/cluster.md) ---------------
WORKERS       ?= 2
CLUSTER       ?= socklab
CLUSTER_CERTS ?= .cluster/certs

cluster-up: venv mmdebstrap ## a scheduler and WORKERS lab machines (each its own Docker Engine) here: make cluster-up [WORKERS=2] [PLAYS=N]
	@test -d "$(CLUSTER_CERTS)" || $(PY) -m orchestrator cluster certs "$(CLUSTER_CERTS)"
	$(PY) -m orchestrator cluster up --name "$(CLUSTER)" --workers $(WORKERS) --certs "$(CLUSTER_CERTS)" $(if $(PLAYS),--plays $(PLAYS))

cluster-down: venv ## remove every cluster on this host: each container, network and volume labelled socklab.cluster
	$(PY) -m orchestrator cluster down --all

# ---- tests -------------------------------------------------------------------------------------
test: images tools compose-v2 chromium ## everything: unit tests, images (testinfra), the lab end to end (Compose v1 and v2)
	$(PY) -m pytest

compose-v2: ## Compose v2 (Debian trixie's) into .cache/compose-v2, for the tests: nothing installed on the host
	@sh scripts/compose-v2.sh >/dev/null

soak: images tools ## long repeats: every scenario 50 times (SOAK_RUNS=N); the thread-scheduling case 20 times; the sample class twice whole; the held-out class 5 times
	$(PY) bench/soak.py -n $(or $(SOAK_RUNS),50)
	SOCKLAB_SOAK_REPEATS=20 $(PY) -m pytest tests/integration/test_grading.py -k "threads_printing or pinned_grades"
	$(PY) bench/repeat.py bench/heldout-class -n 5 --busy 1

test-unit: venv ## only the tests that need no Docker
	$(PY) -m pytest tests/unit

# ---- housekeeping ------------------------------------------------------------------------------
clean: venv ## remove every container and network labelled by a dead run (socklab.run), e.g. after a crash, and every cluster (socklab.cluster)
	$(PY) -m orchestrator clean
	$(PY) -m orchestrator cluster down --all

clean-runs: ## remove the artifacts of past runs (runs/)
	rm -rf runs

clean-images: clean ## also remove the project's images (the next build takes a minute or two)
	$(PY) -m orchestrator images --remove

prune-images: venv ## remove the project's images built from older inputs
	$(PY) -m orchestrator images --prune

lock: ## re-pin requirements.txt from requirements.in
	$(PYTHON) -m venv /tmp/socklab-lock && /tmp/socklab-lock/bin/pip install -q -r requirements.in
	/tmp/socklab-lock/bin/pip freeze > requirements.txt && rm -rf /tmp/socklab-lock
