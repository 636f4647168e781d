# Sourced by scripts/test-all and scripts/flake-check: find CPython 3.X, make its venv.

# find_python 3.X -> prints the path of a working CPython 3.X, or fails.
# Looks for python3.X on PATH, then under pyenv's versions (~/.pyenv/versions/3.X*/bin).
find_python() {
    local want=$1 candidate
    local candidates=()
    if command -v "python$want" >/dev/null 2>&1; then
        candidates+=("$(command -v "python$want")")
    fi
    local root=${PYENV_ROOT:-$HOME/.pyenv}
    for candidate in $(ls -d "$root"/versions/"$want"* 2>/dev/null | sort -rV); do
        candidates+=("$candidate/bin/python$want")
    done
    for candidate in "${candidates[@]}"; do
        # A pyenv shim exists for every installed version but may refuse to run one that
        # is not selected: ask the interpreter itself what it is.
        if "$candidate" -c "import sys, platform; sys.exit(not (platform.python_implementation() == 'CPython' and '%d.%d' % sys.version_info[:2] == '$want'))" 2>/dev/null; then
            "$candidate" -c 'import sys; print(sys.executable)'
            return 0
        fi
    done
    return 1
}

# ensure_venv 3.X PYTHON -> (re)creates .venv-3.X when missing or older than pyproject.toml.
ensure_venv() {
    local ver=$1 python=$2 venv=".venv-$1"
    if [ -f "$venv/.installed" ] && [ "$venv/.installed" -nt pyproject.toml ]; then
        return 0
    fi
    echo "== creating $venv with $python"
    "$python" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --upgrade pip
    "$venv/bin/python" -m pip uninstall --quiet --yes backoff >/dev/null 2>&1 || true
    "$venv/bin/python" -m pip install --quiet -e '.[dev,bench]'
    touch "$venv/.installed"
}
