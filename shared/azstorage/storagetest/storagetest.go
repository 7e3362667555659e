// Package storagetest gives integration tests a real storage account
// (Azurite on 127.0.0.1 unless ELMCITY_TEST_STORAGE or
// AZURE_STORAGE_CONNECTION_STRING says otherwise) and unique table and queue
// names, so tests run in parallel and clean up after themselves.
package storagetest

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/elmcity/elmcity/shared/azstorage"
)

// ConnectionString is the account tests use.
func ConnectionString() string {
	return cmp.Or(os.Getenv("ELMCITY_TEST_STORAGE"), os.Getenv("AZURE_STORAGE_CONNECTION_STRING"), azstorage.DevConnectionString)
}

// Account opens the test account and checks it answers. With -short the
// test is skipped; otherwise an unreachable account fails the test (start
// Azurite with `make azurite-start`).
func Account(tb testing.TB) *azstorage.Account {
	tb.Helper()
	if testing.Short() {
		tb.Skip("integration test against Azure Storage skipped with -short")
	}
	acct, err := azstorage.Open(ConnectionString(), azstorage.Options{MaxRetries: 2})
	if err != nil {
		tb.Fatalf("open test storage: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := acct.Ping(ctx); err != nil {
		tb.Fatalf("test storage unreachable (is Azurite running? `make azurite-start`): %v", err)
	}
	return acct
}

// Name returns a name unique to this run, valid both as a table name
// (letters and digits, starting with a letter) and as a queue name
// (lowercase), at most 40 characters so a "-poison" suffix still fits.
func Name(tb testing.TB, prefix string) string {
	tb.Helper()
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		tb.Fatal(err)
	}
	p := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			return r
		}
		if r >= 'A' && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return -1
	}, prefix)
	if p == "" || p[0] < 'a' || p[0] > 'z' {
		p = "t" + p
	}
	if len(p) > 24 {
		p = p[:24]
	}
	return p + hex.EncodeToString(b[:])
}

// Table returns a unique table name that is deleted (if it was created) when
// the test ends.
func Table(tb testing.TB, acct *azstorage.Account, prefix string) string {
	tb.Helper()
	name := Name(tb, prefix)
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, _ = acct.Tables().DeleteTable(ctx, name, nil)
	})
	return name
}

// Queue returns a unique queue name; the queue and its "-poison" sibling
// are deleted (if they were created) when the test ends.
func Queue(tb testing.TB, acct *azstorage.Account, prefix string) string {
	tb.Helper()
	name := Name(tb, prefix)
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, _ = acct.Queues().DeleteQueue(ctx, name, nil)
		_, _ = acct.Queues().DeleteQueue(ctx, name+"-poison", nil)
	})
	return name
}
