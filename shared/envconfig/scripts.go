package envconfig

import (
	"net/url"
	"strings"
	"time"
)

// Scripts is the script engine's configuration, the same in both roles.
type Scripts struct {
	Source      string
	Timeout     time.Duration
	CacheDir    string
	AuthTokens  Secret
	LockFile    string
	Lock        string
	TrustedKeys []string
	Signatures  string
}

// Scripts reads the script engine's variables.
func (r *Reader) Scripts() Scripts {
	s := Scripts{
		Source: r.String("ELMCITY_SCRIPTS", "scripts",
			"where query and maintenance scripts come from: a folder, or an https:// base URL"),
		Timeout:  r.Duration("ELMCITY_SCRIPT_TIMEOUT", 5*time.Second, 10*time.Millisecond, 10*time.Minute, "wall-time limit of one script run"),
		CacheDir: r.String("ELMCITY_SCRIPT_CACHE_DIR", "", "on-disk cache of modules required over the web (empty: in memory)"),
		AuthTokens: r.Secret("ELMCITY_SCRIPT_AUTH_TOKENS",
			"per-host credentials for require() over the web, in DENO_AUTH_TOKENS form: token@host[:port];user:pass@host"),
		LockFile: r.String("ELMCITY_SCRIPT_LOCK_FILE", "", "lock file pinning the sha256 of every remote module"),
		Lock:     r.String("ELMCITY_SCRIPT_LOCK", "off", "lock file mode: off, lock (refuse mismatches) or update (write the lock)"),
		TrustedKeys: splitList(r.String("ELMCITY_SCRIPT_TRUSTED_KEYS", "",
			"minisign public keys (base64 lines, separated by ;) that may sign remote modules")),
		Signatures: r.String("ELMCITY_SCRIPT_SIGNATURES", "off", "signature mode: off, verify (check signatures that exist) or require (refuse unsigned code)"),
	}
	if strings.Contains(s.Source, "://") {
		u, err := url.Parse(s.Source)
		r.Check(err == nil && (u.Scheme == "https" || u.Scheme == "http" && isLoopback(u.Hostname())),
			"ELMCITY_SCRIPTS", s.Source, "a URL must be https:// (http:// only for loopback)")
	}
	r.Check(s.Lock == "off" || s.Lock == "lock" || s.Lock == "update", "ELMCITY_SCRIPT_LOCK", s.Lock, "must be off, lock or update")
	r.Check(s.Lock == "off" || s.LockFile != "", "ELMCITY_SCRIPT_LOCK", s.Lock, "needs ELMCITY_SCRIPT_LOCK_FILE")
	r.Check(s.Signatures == "off" || s.Signatures == "verify" || s.Signatures == "require", "ELMCITY_SCRIPT_SIGNATURES", s.Signatures, "must be off, verify or require")
	r.Check(s.Signatures == "off" || len(s.TrustedKeys) > 0, "ELMCITY_SCRIPT_SIGNATURES", s.Signatures, "needs ELMCITY_SCRIPT_TRUSTED_KEYS")
	return s
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.FieldsFunc(s, func(r rune) bool { return r == ';' || r == '\n' }) {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func isLoopback(host string) bool {
	return host == "localhost" || strings.HasPrefix(host, "127.") || host == "::1"
}
