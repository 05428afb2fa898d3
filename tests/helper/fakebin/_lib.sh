# Shared by the fake host commands of the fixture tests (test code; the
PATH=$PATH:/usr/sbin:/usr/bin:/sbin:/bin
# helper itself never runs a shell).  State lives in $RS_HELPER_ROOT/.fake.
F="$RS_HELPER_ROOT/.fake"
log() { printf '%s\n' "$*" | sed "s#$RS_HELPER_ROOT#\$ROOT#g" >> "$F/log"; }
