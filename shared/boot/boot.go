// Package boot is what every elmcity role starts with, in order: a JSON
// console log, the resolved configuration logged with secrets masked, the
// storage account (waited for), the per-hub table log, and the logger that
// fans every record out to both.
package boot

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"github.com/elmcity/elmcity/shared/azstorage"
	"github.com/elmcity/elmcity/shared/envconfig"
	"github.com/elmcity/elmcity/shared/script"
	"github.com/elmcity/elmcity/shared/tablelog"
)

// Role is a started role's shared plumbing.
type Role struct {
	// Console is the stdout JSON handler (for http.Server.ErrorLog).
	Console slog.Handler
	// Log writes to stdout and, for records with a "hub" attribute (and
	// system warnings), to the table log.
	Log *slog.Logger
	// Acct is the storage account.
	Acct *azstorage.Account
	// TableLog is the per-hub log.
	TableLog *tablelog.Log

	boot    *slog.Logger
	timeout envconfig.Common
}

// Start logs cfg (with %+v, so Secrets print redacted), opens storage,
// waits up to c.StartupTimeout for it to answer, and opens the table log.
// Call Close when the role stops.
func Start(ctx context.Context, name string, c envconfig.Common, cfg any, stdout io.Writer) (*Role, error) {
	console := slog.NewJSONHandler(stdout, &slog.HandlerOptions{Level: c.LogLevel})
	boot := slog.New(console).With("role", name, "instance", c.Instance)
	boot.InfoContext(ctx, "role starting", "role", name, "config", fmt.Sprintf("%+v", cfg))

	acct, err := azstorage.Open(c.Storage.Reveal(), azstorage.Options{TryTimeout: c.StorageTryTimeout})
	if err != nil {
		return nil, fmt.Errorf("open storage: %w", err)
	}
	if err := acct.WaitReady(ctx, c.StartupTimeout); err != nil {
		return nil, err
	}
	tlog, err := tablelog.Open(ctx, acct, tablelog.Config{Table: c.LogTable, Role: name, Instance: c.Instance, Logger: boot})
	if err != nil {
		return nil, fmt.Errorf("open table log: %w", err)
	}
	log := slog.New(slog.NewMultiHandler(console, tlog.Handler(tablelog.HandlerOptions{}))).
		With("role", name, "instance", c.Instance)
	return &Role{Console: console, Log: log, Acct: acct, TableLog: tlog, boot: boot, timeout: c}, nil
}

// Close flushes the table log within the shutdown timeout; a failure is
// logged to the console, the only place left to report it.
func (r *Role) Close(ctx context.Context) {
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.timeout.ShutdownTimeout)
	defer cancel()
	if err := r.TableLog.Close(fctx); err != nil {
		r.boot.Error("table log flush failed", "error", err.Error())
	}
}

// Scripts builds the script engine from the roles' shared script settings.
// Close it when the role stops.
func Scripts(s envconfig.Scripts, log *slog.Logger) (*script.Engine, error) {
	eng, err := script.New(script.Config{
		Source:      s.Source,
		Timeout:     s.Timeout,
		CacheDir:    s.CacheDir,
		AuthTokens:  s.AuthTokens.Reveal(),
		LockFile:    s.LockFile,
		Lock:        script.LockMode(s.Lock),
		TrustedKeys: s.TrustedKeys,
		Signatures:  script.SignatureMode(s.Signatures),
		Logger:      log,
	})
	if err != nil {
		return nil, fmt.Errorf("script engine: %w", err)
	}
	return eng, nil
}
