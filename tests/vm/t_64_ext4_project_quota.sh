# shellcheck shell=bash
# t_64 (VM lane, sourced by run-lane.sh): issue 13's disk_max enforced by
# ext4 project quotas (`mkfs.ext4 -O quota,project`, mounted `prjquota`):
# tests/vm/project_quota.sh says what is checked.
# shellcheck source=project_quota.sh
. "$SRC/tests/vm/project_quota.sh"
project_quota_lane t_64 ext4 "mkfs.ext4 -q -F -O quota,project" "Disk quota exceeded"
