#!/usr/bin/env bash
# Smoke test of the built standalone executable (scripts/build_exe.sh), headless, with no Python involved:
# --version, render of the bundled sample to a PNG, annotate + import + export of the sample, a short retraining
# through `train retrain` (the command line the retrain dialog runs in a frozen build), and, where xvfb-run and
# xwininfo are installed, the time from launch to the main window on a virtual X display.
# Usage: scripts/smoke_exe.sh [path/to/danet-viewer]    (default: dist/danet-viewer/danet-viewer)
set -euo pipefail
cd "$(dirname "$0")/.."
EXE=$(realpath "${1:-dist/danet-viewer/danet-viewer}")
BUNDLED=$(dirname "$EXE")/_internal/resources  # the bundle's own copies, as the app finds them
SAMPLE=$BUNDLED/sample/209_excerpt.hea
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
# A model registry and settings of the test's own: the user's are never touched.
export DANET_REVIEW_DATA=$WORK/data XDG_CONFIG_HOME=$WORK/config QT_QPA_PLATFORM=offscreen

fail() { echo "smoke_exe: FAILED: $*" >&2; exit 1; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }
timed() {  # timed LABEL COMMAND...: run it, keep its output in LABEL.out (spaces as _), print its wall time
    local label=$1 out=${1// /_}.out started status=0
    shift
    started=$(now_ms)
    "$@" >"$out" 2>&1 || status=$?
    [ "$status" = 0 ] || { cat "$out" >&2; fail "$label exited with $status"; }
    printf '%-28s %6.2f s\n' "$label" "$(($(now_ms) - started))e-3"
}

timed version "$EXE" --version
grep -qx "danet-viewer [0-9][0-9.]*" version.out || fail "--version printed: $(cat version.out)"

timed "render (cold start)" "$EXE" render "$SAMPLE" --start 10 --span 10 --out render.png --store render.h5
# A PNG that is not blank: a blank 1600x900 page compresses to under 10 kB, the drawn traces to about 100 kB.
[ "$(head -c 8 render.png | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] || fail "render.png is not a PNG"
[ "$(stat -c %s render.png)" -gt 30000 ] || fail "render.png looks blank ($(stat -c %s render.png) bytes)"

timed annotate "$EXE" annotate "$SAMPLE" --store sample.h5
grep -q "^209_excerpt: [0-9]* beats on MLII" annotate.out || fail "annotate printed: $(cat annotate.out)"
# The sample's reference annotations as a reviewer's labels: reviewed beats to export and to retrain on.
timed import "$EXE" import "${SAMPLE%.hea}" --annotations atr --store sample.h5 --as-review --reviewer smoke
for format in csv wfdb hdf5; do
    timed "export $format" "$EXE" export sample.h5 --format "$format" --out "export.$format" --reviewed-only
done
[ "$(wc -l <export.csv)" -gt 300 ] || fail "export.csv has only $(wc -l <export.csv) lines"
[ -f export.wfdb/209_excerpt.rev ] && [ -s export.hdf5 ] || fail "wfdb or hdf5 export missing"

timed "train --help" "$EXE" train --help
grep -q "retrain" train_--help.out || fail "train --help does not list retrain"
# The retrain dialog's command line (training_arguments), with a tiny training so it ends in seconds.
timed "train retrain" "$EXE" train retrain --store sample.h5 --base "$BUNDLED/model" --out retrained \
    --max-seconds 20 --log retrain.jsonl --stage2-epochs 1 --negatives-per-epoch 300 --synthetic-per-epoch 64 \
    --batch-size 64
[ -f retrained/model.json ] && [ -f retrained/weights.safetensors ] || fail "retraining wrote no model"
grep -q '"event": "compare"' retrain.jsonl || fail "retraining logged no comparison"

# Libraries the bundle's X11 platform plugin needs that neither the bundle nor this machine has (see build_exe.sh).
xcb_missing=$(LD_LIBRARY_PATH=$(dirname "$EXE")/_internal \
    ldd "$(dirname "$EXE")/_internal/PySide6/Qt/plugins/platforms/libqxcb.so" | awk '/not found/ {print $1}' | xargs)
if [ -n "$xcb_missing" ]; then
    echo "GUI first window: skipped (this machine and the bundle lack $xcb_missing)"
elif command -v xvfb-run >/dev/null && command -v xwininfo >/dev/null; then
    # From launch to the main window mapped on the virtual display (no window manager, so show() maps it). A
    # virtual display that does not answer is this machine's problem, not the app's: said, and skipped.
    cat >first_window.sh <<'EOF'
xwininfo -root >/dev/null 2>&1 || { echo "GUI first window: skipped (the virtual display did not answer)"; exit 0; }
started=$(($(date +%s%N) / 1000000))
QT_QPA_PLATFORM=xcb "$1" >gui.out 2>&1 &
app=$!
until xwininfo -name "DANet Review" 2>/dev/null | grep -q IsViewable; do
    if ! kill -0 "$app" 2>/dev/null; then
        # An X server that answered and then went away (seen once in CI, 1 run in 4 here) is the machine's too.
        grep -q "could not connect to display" gui.out && { echo "GUI first window: skipped (the virtual display went away)"; exit 0; }
        cat gui.out >&2; exit 1
    fi
    sleep 0.02
done
printf '%-28s %6.2f s\n' "GUI (cold start)" "$(($(date +%s%N) / 1000000 - started))e-3"
kill "$app"
EOF
    xvfb-run -a -s "-screen 0 1600x1000x24" bash first_window.sh "$EXE" || fail "the GUI exited before its window"
else
    echo "GUI first window: skipped (needs xvfb-run and xwininfo)"
fi
echo "smoke_exe: all checks passed"
