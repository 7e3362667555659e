// Package azstorage opens the Azure Storage account that every elmcity role
// shares: the Table service (logs, hubs, feeds, published calendars) and the
// Queue service (aggregation jobs). It owns the one connection setting, so
// the rest of the code never parses a connection string or sees an azcore
// type.
package azstorage

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"
)

// DevAccountName and DevAccountKey are the well-known Azurite (and old
// Storage Emulator) development credentials. They are public by design.
const (
	DevAccountName = "devstoreaccount1"
	DevAccountKey  = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)

// DevConnectionString is what an empty setting or
// "UseDevelopmentStorage=true" expands to: Azurite's default ports on
// 127.0.0.1.
const DevConnectionString = "DefaultEndpointsProtocol=http;AccountName=" + DevAccountName +
	";AccountKey=" + DevAccountKey +
	";BlobEndpoint=http://127.0.0.1:10000/" + DevAccountName +
	";QueueEndpoint=http://127.0.0.1:10001/" + DevAccountName +
	";TableEndpoint=http://127.0.0.1:10002/" + DevAccountName + ";"

// ErrConnectionString is returned by Open for a setting it cannot use.
var ErrConnectionString = errors.New("invalid storage connection string")

// ExpandConnectionString turns the development shortcut into a full
// connection string. The SDKs do not understand "UseDevelopmentStorage=true"
// themselves. An optional DevelopmentStorageProxyUri replaces the host of
// every endpoint, as the original emulator tooling allowed.
func ExpandConnectionString(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return DevConnectionString
	}
	kv, err := parseConnectionString(s)
	if err != nil || !strings.EqualFold(kv["UseDevelopmentStorage"], "true") {
		return s
	}
	proxy := strings.TrimRight(kv["DevelopmentStorageProxyUri"], "/")
	if proxy == "" {
		return DevConnectionString
	}
	return "DefaultEndpointsProtocol=http;AccountName=" + DevAccountName +
		";AccountKey=" + DevAccountKey +
		";BlobEndpoint=" + proxy + ":10000/" + DevAccountName +
		";QueueEndpoint=" + proxy + ":10001/" + DevAccountName +
		";TableEndpoint=" + proxy + ":10002/" + DevAccountName + ";"
}

func parseConnectionString(s string) (map[string]string, error) {
	kv := make(map[string]string)
	for _, part := range strings.Split(strings.TrimRight(strings.TrimSpace(s), ";"), ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("%w: part %q is not key=value", ErrConnectionString, redactPart(part))
		}
		kv[k] = v
	}
	return kv, nil
}

func redactPart(p string) string {
	if len(p) > 12 {
		return p[:12] + "..."
	}
	return p
}

// Account holds the service clients of one storage account. It is safe for
// concurrent use.
type Account struct {
	name   string
	tables *aztables.ServiceClient
	queues *azqueue.ServiceClient
}

// Options tunes the clients Open builds. The zero value uses the SDK's
// defaults (three retries with exponential backoff).
type Options struct {
	// MaxRetries overrides the SDK's retry count when non-zero; -1 disables
	// retries.
	MaxRetries int32
	// Transport replaces the HTTP client (tests, connection tuning).
	Transport policy.Transporter
	// TryTimeout bounds each try of a request (the SDK has none by
	// default, so a service that accepts the connection and never
	// answers holds a call for as long as its context allows).
	TryTimeout time.Duration
	// RetryDelay overrides the SDK's first retry delay (4s) when
	// non-zero; it doubles with each retry, up to a minute.
	RetryDelay time.Duration
}

// Open builds Table and Queue service clients from a connection string.
// An empty string and "UseDevelopmentStorage=true" mean Azurite on
// 127.0.0.1. A real account string (AccountName/AccountKey or a SAS, with
// or without explicit endpoints) works unchanged.
func Open(connectionString string, opts Options) (*Account, error) {
	conn := ExpandConnectionString(connectionString)
	kv, err := parseConnectionString(conn)
	if err != nil {
		return nil, err
	}
	if kv["AccountName"] == "" && kv["SharedAccessSignature"] == "" {
		return nil, fmt.Errorf("%w: no AccountName or SharedAccessSignature", ErrConnectionString)
	}
	copts := azcore.ClientOptions{}
	if opts.MaxRetries != 0 {
		copts.Retry.MaxRetries = opts.MaxRetries
	}
	if opts.Transport != nil {
		copts.Transport = opts.Transport
	}
	copts.Retry.TryTimeout = opts.TryTimeout
	copts.Retry.RetryDelay = opts.RetryDelay
	tables, err := openTables(conn, kv, &aztables.ClientOptions{ClientOptions: copts})
	if err != nil {
		return nil, fmt.Errorf("open table service: %w", err)
	}
	queues, err := azqueue.NewServiceClientFromConnectionString(conn, &azqueue.ClientOptions{ClientOptions: copts})
	if err != nil {
		return nil, fmt.Errorf("open queue service: %w", err)
	}
	return &Account{name: kv["AccountName"], tables: tables, queues: queues}, nil
}

// openTables handles the one case aztables' own parser gets wrong: a SAS
// connection string with an explicit TableEndpoint.
func openTables(conn string, kv map[string]string, o *aztables.ClientOptions) (*aztables.ServiceClient, error) {
	sas, ep := kv["SharedAccessSignature"], kv["TableEndpoint"]
	if kv["AccountKey"] == "" && sas != "" && ep != "" {
		return aztables.NewServiceClientWithNoCredential(strings.TrimRight(ep, "/")+"/?"+strings.TrimPrefix(sas, "?"), o)
	}
	return aztables.NewServiceClientFromConnectionString(conn, o)
}

// Name is the storage account name ("devstoreaccount1" on Azurite).
func (a *Account) Name() string { return a.name }

// Tables is the Table service client.
func (a *Account) Tables() *aztables.ServiceClient { return a.tables }

// Queues is the Queue service client.
func (a *Account) Queues() *azqueue.ServiceClient { return a.queues }

// Ping checks that both services answer, for readiness probes.
func (a *Account) Ping(ctx context.Context) error {
	one := int32(1)
	tp := a.tables.NewListTablesPager(&aztables.ListTablesOptions{Top: &one})
	if _, err := tp.NextPage(ctx); err != nil {
		return fmt.Errorf("ping table service: %w", Wrap(err))
	}
	qp := a.queues.NewListQueuesPager(&azqueue.ListQueuesOptions{MaxResults: &one})
	if _, err := qp.NextPage(ctx); err != nil {
		return fmt.Errorf("ping queue service: %w", Wrap(err))
	}
	return nil
}

// Sentinel errors that storage errors are mapped to at this boundary, so
// callers test with errors.Is and never import azcore.
var (
	ErrNotFound     = errors.New("storage: not found")
	ErrConflict     = errors.New("storage: already exists")
	ErrPrecondition = errors.New("storage: precondition failed (changed by someone else)")
	ErrThrottled    = errors.New("storage: throttled or unavailable")
)

// Error is a storage service error with the service's status and code,
// translated from the SDK's response error.
type Error struct {
	Status int
	Code   string
	err    error
}

func (e *Error) Error() string {
	if e.Code != "" {
		return fmt.Sprintf("storage: %d %s", e.Status, e.Code)
	}
	return fmt.Sprintf("storage: status %d", e.Status)
}

// Unwrap lets errors.Is match the sentinel for the status.
func (e *Error) Unwrap() error { return e.err }

// Wrap translates an SDK response error into *Error wrapping one of the
// sentinels; other errors (network, context) are returned unchanged.
func Wrap(err error) error {
	var re *azcore.ResponseError
	if !errors.As(err, &re) {
		return err
	}
	e := &Error{Status: re.StatusCode, Code: re.ErrorCode}
	switch {
	case re.StatusCode == http.StatusNotFound:
		e.err = ErrNotFound
	case re.StatusCode == http.StatusConflict:
		e.err = ErrConflict
	case re.StatusCode == http.StatusPreconditionFailed:
		e.err = ErrPrecondition
	case re.StatusCode == http.StatusTooManyRequests || re.StatusCode >= 500:
		e.err = ErrThrottled
	}
	return e
}

// ErrorCode returns the storage error code of err ("PopReceiptMismatch",
// "EntityAlreadyExists" ...), or "" when err is not a storage error.
func ErrorCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		return re.ErrorCode
	}
	return ""
}

// StatusCode returns the HTTP status of a storage error, or 0.
func StatusCode(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Status
	}
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		return re.StatusCode
	}
	return 0
}

// Transient reports whether err is worth retrying later: throttling,
// server errors, timeouts and network failures. Client errors (4xx other
// than 408 and 429) are permanent.
func Transient(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, context.Canceled) {
		return false
	}
	if st := StatusCode(err); st != 0 {
		return st == http.StatusRequestTimeout || st == http.StatusTooManyRequests || st >= 500
	}
	return true
}

// WaitReady pings the account until it answers, ctx ends or timeout
// passes, so a role started beside its storage (compose, make dev) does not
// fail on the first refused connection. It returns the last ping error.
func (a *Account) WaitReady(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	delay := 100 * time.Millisecond
	for {
		pctx, pcancel := context.WithTimeout(ctx, 5*time.Second)
		err := a.Ping(pctx)
		pcancel()
		if err == nil {
			return nil
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("storage not ready after %s: %w", timeout, err)
		case <-t.C:
		}
		delay = min(delay*2, 2*time.Second)
	}
}
