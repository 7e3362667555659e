//go:build linux

package main

import "syscall"

// faultProcAttr makes a process the fault test starts die with the test
// binary: a test that times out panics and runs no cleanup, and must not
// leave Azurite or a role running.
func faultProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
