package script

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors; test for them with errors.Is.
var (
	// ErrNotFound means the script or a module it requires does not exist:
	// no such file under a local source, or a 404 from a remote one.
	ErrNotFound = errors.New("script: not found")
	// ErrInvalidName means a script name or require() specifier is not
	// allowed: it is absolute, climbs out of the source with "..", uses
	// characters outside [A-Za-z0-9_./-], names a scheme other than https
	// (or http on loopback), or is a bare package name with no import
	// mapping.
	ErrInvalidName = errors.New("script: invalid name")
	// ErrCapability means a script called a host function its run was not
	// granted: a query script touched a maintenance function, read another
	// hub, or the run has no host at all.
	ErrCapability = errors.New("script: capability denied")
	// ErrLimit means a size or depth limit was hit: the result, data from
	// the host, a log line, a fetched module or the call stack was too
	// large.
	ErrLimit = errors.New("script: limit exceeded")
	// ErrIntegrity means a remote module failed the integrity or signature
	// policy: its hash differs from the lock file, it is missing from the
	// lock file in lock mode, it is unsigned where signatures are
	// required, or its signature is bad, by an untrusted key, or signed
	// for another URL.
	ErrIntegrity = errors.New("script: integrity check failed")
	// ErrUnavailable means a remote module could not be fetched (network
	// error or 5xx) and no verified copy of it is cached.
	ErrUnavailable = errors.New("script: module unavailable")
)

// Error is a failure inside a script run: a syntax error, an uncaught
// exception, an interrupt (timeout or cancellation), a stack overflow, or
// a host function's error that the script did not catch. Read it with
// errors.As. Unwrap returns the Go cause when there is one: the context's
// error for an interrupt (so errors.Is(err, context.DeadlineExceeded)
// holds for a timeout), ErrLimit for a stack overflow, or the host
// function's error (ErrCapability, ErrLimit, ErrIntegrity, ...).
type Error struct {
	// Script is the name of the script the run was asked for, or its URL
	// when the source is remote.
	Script string
	// File is the name or URL of the file where the error happened: the
	// script itself or a module it required.
	File string
	// Hash is the hex SHA-256 of File's content, empty when unknown.
	Hash string
	// Line and Col are the 1-based position in File, zero when unknown.
	Line, Col int
	// Msg is the JavaScript message, such as "TypeError: x is not a
	// function".
	Msg string
	// Stack is the JavaScript stack, one "at ..." line per frame.
	Stack string
	// Err is the Go cause, or nil for a plain JavaScript exception.
	Err error
}

// Error formats the error as "script NAME: FILE:LINE:COL: MSG".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("script ")
	b.WriteString(e.Script)
	if e.File != "" {
		b.WriteString(": ")
		b.WriteString(e.File)
		if e.Line > 0 {
			fmt.Fprintf(&b, ":%d:%d", e.Line, e.Col)
		}
	}
	b.WriteString(": ")
	b.WriteString(e.Msg)
	return b.String()
}

// Unwrap returns the Go cause, if any.
func (e *Error) Unwrap() error { return e.Err }
