# shellcheck shell=bash
# t_65 (VM lane, sourced by run-lane.sh): issue 13's disk_max enforced by
# XFS project quotas (mkfs.xfs, mounted `prjquota`); over its limit a
# project's writes fail with ENOSPC on XFS. tests/vm/project_quota.sh says
# what is checked.
# shellcheck source=project_quota.sh
. "$SRC/tests/vm/project_quota.sh"
project_quota_lane t_65 xfs "mkfs.xfs -q -f" "No space left on device"
