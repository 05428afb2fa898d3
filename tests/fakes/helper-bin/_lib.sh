# Shared by the fake host commands of the fixture tests (test code; the
# helper itself never runs a shell).  State lives in $RS_HELPER_ROOT/.fake.
PATH=$PATH:/usr/sbin:/usr/bin:/sbin:/bin
F="$RS_HELPER_ROOT/.fake"
log() { local l="$*"; printf '%s\n' "${l//"$RS_HELPER_ROOT"/\$ROOT}" >> "$F/log"; }
