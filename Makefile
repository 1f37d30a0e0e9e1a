.PHONY: setup demo test

setup:
	scripts/setup.sh

demo: setup
	kdtext run --data demo -o runs/demo

test:
	python -m pytest -q
