# rla_mm: the two commands of the README.
#   make test   set up .venv (first time only) and run the test suite
#   make demo   set up .venv (first time only) and run the demo on the embedded data
#   make demo-seg  the same for the semantic-segmentation demo
#   make demo-cls  the same for the classification demo (top-1, top-5)
#   make paper-demo  RLA-R50 vs R50 Semantic FPN on the demo data, 2800
#                    iterations, seeds 0-2, the twins of a seed started from
#                    one draw, with the paired interval: a CPU setting
#                    measured to tell the sign (about 2 h on 2 cores)
#   make paper-demo-quick  the same pair at the demos' 700 iterations: bounds
#                          the effect, cannot tell its sign (about 33 min)
#   make paper-record  the same pair over seeds 0-9 with 1600 train images,
#                      the demo-scale record (about 100 min on 2 cores)
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.rla_mm_stack

.PHONY: setup test demo demo-seg demo-cls paper-demo paper-demo-quick paper-record benchmark clean-venv
setup: $(STAMP)

$(STAMP): tools/setup_env.sh requirements/runtime.txt requirements/tests.txt \
		requirements/deploy.txt setup.py pyproject.toml
	bash tools/setup_env.sh $(VENV)
	touch $@

test: $(STAMP)
	$(PY) -m pytest tests

demo: $(STAMP)
	$(PY) tools/demo.py

demo-seg: $(STAMP)
	$(PY) tools/demo.py --task seg

demo-cls: $(STAMP)
	$(PY) tools/demo.py --task cls

# The Semantic FPN pairs of the paper-* targets, each a pair of configs in
# configs/demo/pairs/ naming its schedule and its dataset (which the kit
# writes where it is missing): seeds 0-2, shared starts.
PAPER_DEMO := $(PY) tools/paper/run_pairs.py --seeds 0 1 2 --jobs 2 \
	--couple-init

# Each its own work dir, for a report of its own.
paper-demo: $(STAMP)
	$(PAPER_DEMO) --demo seg-4x --work-dir work_dirs/paper_demo_4x

paper-demo-quick: $(STAMP)
	$(PAPER_DEMO) --demo seg --work-dir work_dirs/paper_demo_quick

paper-record: $(STAMP)
	$(PY) tools/paper/run_pairs.py --demo seg-train1600 \
		--seeds 0 1 2 3 4 5 6 7 8 9 --jobs 2 --work-dir work_dirs/paper_record

benchmark: $(STAMP)
	$(PY) tools/analysis/benchmark_backbone.py

clean-venv:
	rm -rf $(VENV)
