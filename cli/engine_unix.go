//go:build unix

package cli

import (
	"os/exec"
	"syscall"
)

// ownProcessGroup puts cmd in a process group of its own: a terminal's ^C
// reaches this process only, which passes each signal on once (a second
// one cuts the run short, so the child must not get both).
func ownProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}
