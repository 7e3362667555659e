// Command elmcity-script lets a script author sign scripts and keep the
// lock file of remote module hashes without other tools.
//
//	elmcity-script keygen [-force] [-out DIR] NAME
//	    writes NAME.key (secret, mode 0600) and NAME.pub into DIR (default
//	    $XDG_CONFIG_HOME/elmcity/keys or ~/.config/elmcity/keys, never the
//	    working folder; a NAME with a folder is written there); put the .pub
//	    line in the roles' trusted keys
//	elmcity-script sign -key NAME.key -url URL FILE
//	    writes FILE.minisig, to be served at URL.minisig; the signature
//	    is valid for URL only
//	elmcity-script verify -pub NAME.pub -url URL FILE
//	    checks FILE.minisig as the roles would
//	elmcity-script lock [-lockfile FILE] [-pub NAME.pub]... [-signatures MODE] URL...
//	    fetches each URL and the modules it requires statically, checks
//	    signatures if asked, and records their SHA-256 in the lock file
//	elmcity-script lock -update [-lockfile FILE] [-pub NAME.pub]... [-signatures MODE]
//	    refetches every URL in the lock file and records the new hashes
//
// Flags may come before or after the other arguments. The environment
// gives secrets: ELMCITY_SCRIPT_KEY_PASSWORD encrypts the key keygen
// writes and decrypts the one sign reads (empty: unencrypted), and
// ELMCITY_SCRIPT_AUTH_TOKENS holds credentials for lock's fetches in the
// DENO_AUTH_TOKENS form.
package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"aead.dev/minisign"
	"github.com/elmcity/elmcity/shared/script"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr, time.Now); err != nil {
		fmt.Fprintln(os.Stderr, "elmcity-script:", err)
		stop()
		os.Exit(1)
	}
}

// errUsage reports bad arguments; run has printed the usage.
var errUsage = errors.New("bad usage")

const usage = `usage:
  elmcity-script keygen [-force] [-out DIR] NAME
  elmcity-script sign -key NAME.key -url URL FILE
  elmcity-script verify -pub NAME.pub -url URL FILE
  elmcity-script lock [-lockfile FILE] [-pub NAME.pub]... [-signatures off|verify|require] URL...
  elmcity-script lock -update [-lockfile FILE] [-pub NAME.pub]... [-signatures off|verify|require]
`

// run runs one command; args excludes the program name.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer, now func() time.Time) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errUsage
	}
	cmd, args := args[0], args[1:]
	switch cmd {
	case "keygen":
		return keygen(args, getenv, stdout, stderr)
	case "sign":
		return sign(args, getenv, stdout, stderr, now)
	case "verify":
		return verify(args, stdout, stderr)
	case "lock":
		return lock(ctx, args, getenv, stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprintf(stderr, "unknown command %q\n%s", cmd, usage)
	return errUsage
}

// parse parses flags that may come before or after the positional
// arguments, and returns the positional ones.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, errUsage
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage) }
	return fs
}

// listFlag is a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(s string) error { *l = append(*l, s); return nil }

func keygen(args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("keygen", stderr)
	force := fs.Bool("force", false, "overwrite existing key files")
	out := fs.String("out", "", "folder for the key files (default: $XDG_CONFIG_HOME/elmcity/keys, else ~/.config/elmcity/keys)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fs.Usage()
		return errUsage
	}
	// A bare name goes to a folder of the user's, never the working
	// folder (a repository, often), unless -out says where.
	name := pos[0]
	if filepath.Base(name) == name {
		dir := *out
		if dir == "" {
			dir = keyDir(getenv)
		}
		if dir == "" {
			return fmt.Errorf("keygen: no folder for the keys: give -out DIR (neither XDG_CONFIG_HOME nor HOME is set)")
		}
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("keygen: %w", err)
		}
		name = filepath.Join(dir, name)
	} else if *out != "" {
		return fmt.Errorf("keygen: give NAME as a bare name with -out, not the path %q", name)
	}
	pub, priv, err := minisign.GenerateKey(rand.Reader)
	if err != nil {
		return fmt.Errorf("keygen: %w", err)
	}
	var secret []byte
	if pw := getenv("ELMCITY_SCRIPT_KEY_PASSWORD"); pw != "" {
		secret, err = minisign.EncryptKey(pw, priv)
	} else {
		secret, err = priv.MarshalText()
	}
	if err != nil {
		return fmt.Errorf("keygen: %w", err)
	}
	pubText, err := pub.MarshalText()
	if err != nil {
		return fmt.Errorf("keygen: %w", err)
	}
	flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
	if *force {
		flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	}
	if err := writeFile(name+".key", append(secret, '\n'), flags, 0o600); err != nil {
		return fmt.Errorf("keygen: %w", err)
	}
	if err := writeFile(name+".pub", append(pubText, '\n'), flags, 0o644); err != nil {
		return fmt.Errorf("keygen: %w", err)
	}
	fmt.Fprintf(stdout, "wrote %s.key (keep it secret) and %s.pub\nkey ID %s; trusted key line:\n%s\n",
		name, name, script.KeyID(pub.ID()), pub.String())
	return nil
}

// keyDir is the default folder of keygen's files.
func keyDir(getenv func(string) string) string {
	if d := getenv("XDG_CONFIG_HOME"); d != "" {
		return filepath.Join(d, "elmcity", "keys")
	}
	if h := getenv("HOME"); h != "" {
		return filepath.Join(h, ".config", "elmcity", "keys")
	}
	return ""
}

func writeFile(path string, b []byte, flags int, perm os.FileMode) error {
	f, err := os.OpenFile(path, flags, perm)
	if err != nil {
		return err
	}
	_, werr := f.Write(b)
	return errors.Join(werr, f.Close())
}

func sign(args []string, getenv func(string) string, stdout, stderr io.Writer, now func() time.Time) error {
	fs := newFlagSet("sign", stderr)
	keyPath := fs.String("key", "", "secret key file from keygen")
	rawURL := fs.String("url", "", "URL the file will be served at")
	out := fs.String("o", "", "signature file (default FILE.minisig)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || *keyPath == "" || *rawURL == "" {
		fs.Usage()
		return errUsage
	}
	u, err := script.ModuleURL(*rawURL)
	if err != nil {
		return fmt.Errorf("sign: %w", err)
	}
	keyText, err := os.ReadFile(*keyPath)
	if err != nil {
		return fmt.Errorf("sign: %w", err)
	}
	var priv minisign.PrivateKey
	if minisign.IsEncrypted(keyText) {
		pw := getenv("ELMCITY_SCRIPT_KEY_PASSWORD")
		if pw == "" {
			return errors.New("sign: the key is encrypted; set ELMCITY_SCRIPT_KEY_PASSWORD")
		}
		if priv, err = minisign.DecryptKey(pw, keyText); err != nil {
			return fmt.Errorf("sign: decrypt %s: %w", *keyPath, err)
		}
	} else if err := priv.UnmarshalText(keyText); err != nil {
		return fmt.Errorf("sign: read %s: %w", *keyPath, err)
	}
	content, err := os.ReadFile(pos[0])
	if err != nil {
		return fmt.Errorf("sign: %w", err)
	}
	sigPath := *out
	if sigPath == "" {
		sigPath = pos[0] + script.SigSuffix
	}
	if err := os.WriteFile(sigPath, script.SignModule(priv, u, content, now()), 0o644); err != nil {
		return fmt.Errorf("sign: %w", err)
	}
	fmt.Fprintf(stdout, "wrote %s for %s (key %s); serve it at %s%s\n", sigPath, u, script.KeyID(priv.ID()), u, script.SigSuffix)
	return nil
}

func verify(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("verify", stderr)
	var pubs listFlag
	fs.Var(&pubs, "pub", "public key file (repeatable)")
	rawURL := fs.String("url", "", "URL the file is served at")
	sigPath := fs.String("sig", "", "signature file (default FILE.minisig)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || len(pubs) == 0 || *rawURL == "" {
		fs.Usage()
		return errUsage
	}
	u, err := script.ModuleURL(*rawURL)
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	keys, err := readKeys(pubs)
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	if *sigPath == "" {
		*sigPath = pos[0] + script.SigSuffix
	}
	content, err := os.ReadFile(pos[0])
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	sig, err := os.ReadFile(*sigPath)
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	signer, err := script.VerifyModule(keys, u, content, sig)
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	fmt.Fprintf(stdout, "good signature of %s for %s by key %s\n", pos[0], u, signer)
	return nil
}

func readKeys(paths []string) ([]minisign.PublicKey, error) {
	var keys []minisign.PublicKey
	for _, p := range paths {
		k, err := minisign.PublicKeyFromFile(p)
		if err != nil {
			return nil, fmt.Errorf("read public key %s: %w", p, err)
		}
		keys = append(keys, k)
	}
	return keys, nil
}

func lock(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("lock", stderr)
	lockFile := fs.String("lockfile", "script.lock", "lock file to write")
	update := fs.Bool("update", false, "refetch every URL already in the lock file")
	mode := fs.String("signatures", "", "signature mode: off, verify or require (default require with -pub, else off)")
	var pubs listFlag
	fs.Var(&pubs, "pub", "trusted public key file (repeatable)")
	urls, err := parse(fs, args)
	if err != nil {
		return err
	}
	if *update {
		locked, err := script.ReadLockFile(*lockFile)
		if err != nil {
			return fmt.Errorf("lock -update: %w", err)
		}
		for u := range locked {
			urls = append(urls, u)
		}
		slices.Sort(urls)
		urls = slices.Compact(urls)
	}
	if len(urls) == 0 {
		fs.Usage()
		return errUsage
	}
	var trusted []string
	for _, p := range pubs {
		b, err := os.ReadFile(p)
		if err != nil {
			return fmt.Errorf("lock: read public key: %w", err)
		}
		trusted = append(trusted, string(b))
	}
	sigMode := script.SignatureMode(*mode)
	if sigMode == "" {
		sigMode = script.SignaturesOff
		if len(trusted) > 0 {
			sigMode = script.SignaturesRequire
		}
	}
	// The source folder is unused: lock fetches URLs only. The temporary
	// folder always exists.
	e, err := script.New(script.Config{
		Source:      os.TempDir(),
		Lock:        script.LockUpdate,
		LockFile:    *lockFile,
		CacheTTL:    -1,
		AuthTokens:  getenv("ELMCITY_SCRIPT_AUTH_TOKENS"),
		TrustedKeys: trusted,
		Signatures:  sigMode,
		Logger:      slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		return fmt.Errorf("lock: %w", err)
	}
	defer func() { _ = e.Close() }()
	infos, err := e.Preload(ctx, urls...)
	for _, m := range infos {
		signer := ""
		if m.Signer != "" {
			signer = " signed by " + m.Signer
		}
		fmt.Fprintf(stdout, "%s sha256:%s%s\n", m.Name, m.SHA256, signer)
	}
	if err != nil {
		return fmt.Errorf("lock: %w", err)
	}
	fmt.Fprintf(stdout, "%s: %d modules locked\n", *lockFile, len(infos))
	return nil
}
