// Package errs is lkg's one error vocabulary: the sentinels more than one
// package means the same thing by, and Error, a failure that carries what
// to do next and, when it knows better than the table in the CLI, its own
// exit code. It imports only the standard library, so every package can
// speak it.
package errs

import (
	"errors"
	"fmt"
)

// Sentinels shared across packages, matched with errors.Is.
var (
	// ErrNothingGood: no known-good candidate: every tag matching the
	// patterns is at or after the bad deploy, or none matches.
	ErrNothingGood = errors.New("no known-good candidate")
	// ErrUsage: bad input: a flag, a target, a setting. Exit 2.
	ErrUsage = errors.New("usage")
)

// Error is a failure with what to do next and, optionally, its own exit
// code, which wins over anything the CLI would decide from the errors it
// wraps.
type Error struct {
	Err  error
	Hint string // the next step, a sentence; "" for none
	Code int    // the process exit code; 0 leaves it to the CLI
}

func (e *Error) Error() string {
	if e.Hint == "" {
		return e.Err.Error()
	}
	return e.Err.Error() + ". " + e.Hint
}

// Unwrap returns the failure.
func (e *Error) Unwrap() error { return e.Err }

// ExitCode is the process exit code for the failure: its own, else 1.
func (e *Error) ExitCode() int {
	if e.Code != 0 {
		return e.Code
	}
	return 1
}

// Hinted is err with the next step; the exit code is left to the CLI.
func Hinted(err error, hint string) *Error { return &Error{Err: err, Hint: hint} }

// Coded is err with its own exit code and the next step. Code 0 leaves
// the exit code to the CLI.
func Coded(code int, err error, hint string) *Error { return &Error{Err: err, Hint: hint, Code: code} }

// Usagef is bad input: one line, exit 2.
func Usagef(format string, args ...any) error {
	return &Error{Err: fmt.Errorf(format, args...), Code: 2}
}

// Code is err's own exit code: the outermost Error with a code, else
// anything with an ExitCode method (kong's), else 0.
func Code(err error) int {
	for e := err; e != nil; {
		if x, ok := e.(*Error); ok && x.Code != 0 {
			return x.Code
		}
		if x, ok := e.(interface{ ExitCode() int }); ok {
			if _, isErr := e.(*Error); !isErr {
				return x.ExitCode()
			}
		}
		switch u := e.(type) {
		case interface{ Unwrap() error }:
			e = u.Unwrap()
		case interface{ Unwrap() []error }:
			for _, inner := range u.Unwrap() {
				if c := Code(inner); c != 0 {
					return c
				}
			}
			return 0
		default:
			return 0
		}
	}
	return 0
}

// Hints are every hint on err's chain, outermost first.
func Hints(err error) []string {
	var out []string
	for e := err; e != nil; e = errors.Unwrap(e) {
		if x, ok := e.(*Error); ok && x.Hint != "" {
			out = append(out, x.Hint)
		}
	}
	return out
}
