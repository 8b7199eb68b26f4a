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

# The segmentation pair of both paper-demo targets: seeds 0-2, shared starts.
PAPER_DEMO := $(PY) tools/paper/run_pairs.py --demo seg --seeds 0 1 2 \
	--jobs 2 --couple-init

# Each its own work dir: the kit resumes runs, and a finished 700-iteration
# run would otherwise be continued to 2800 under the wrong schedule.
paper-demo: $(STAMP)
	$(PAPER_DEMO) --work-dir work_dirs/paper_demo_4x --cfg-options \
		train_cfg.max_iters=2800 train_cfg.val_interval=2800 \
		default_hooks.checkpoint.interval=2800

paper-demo-quick: $(STAMP)
	$(PAPER_DEMO) --work-dir work_dirs/paper_demo_quick

paper-record: $(STAMP)
	$(PY) tools/paper/run_pairs.py --demo seg --seeds 0 1 2 3 4 5 6 7 8 9 \
		--jobs 2 --demo-images 1600 1000 \
		--demo-data-root data/demo_shapes_train1600 \
		--work-dir work_dirs/paper_record

benchmark: $(STAMP)
	$(PY) tools/analysis/benchmark_backbone.py

clean-venv:
	rm -rf $(VENV)
