//go:build unix && !linux

package main

import "syscall"

// faultProcAttr is nil where the kernel cannot tie a child's life to its
// parent's; the test's cleanup stops what it started.
func faultProcAttr() *syscall.SysProcAttr { return nil }
