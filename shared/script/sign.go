package script

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"aead.dev/minisign"
)

// SigSuffix is appended to a module's URL to get its signature's URL.
const SigSuffix = ".minisig"

// SignModule signs content, to be served at url, with key. The result is
// a minisign signature file (pre-hashed Ed25519, as minisign -S makes)
// whose trusted comment is "timestamp:<unix>\tfile:<url>". Because the
// trusted comment is signed, the signature is valid only for that URL:
// an old signed file served under another name is refused.
func SignModule(key minisign.PrivateKey, url string, content []byte, now time.Time) []byte {
	r := minisign.NewReader(bytes.NewReader(content))
	_, _ = io.Copy(io.Discard, r) // reading from a bytes.Reader cannot fail
	trusted := "timestamp:" + strconv.FormatInt(now.Unix(), 10) + "\tfile:" + url
	untrusted := "signature from elmcity-script key " + KeyID(key.ID())
	return r.SignWithComments(key, trusted, untrusted)
}

// KeyID formats a minisign key ID as minisign does: 16 upper-case hex
// digits.
func KeyID(id uint64) string {
	return fmt.Sprintf("%016X", id)
}

// VerifyModule checks that sig is a valid minisign signature of content
// by one of keys, and that its trusted comment names url as its file. It
// returns the signing key's ID, or an error wrapping ErrIntegrity that
// says what is wrong.
func VerifyModule(keys []minisign.PublicKey, url string, content, sig []byte) (string, error) {
	var s minisign.Signature
	if err := s.UnmarshalText(sig); err != nil {
		return "", fmt.Errorf("%w: %s: malformed signature: %w", ErrIntegrity, url, err)
	}
	var key *minisign.PublicKey
	for i := range keys {
		if keys[i].ID() == s.KeyID {
			key = &keys[i]
			break
		}
	}
	if key == nil {
		return "", fmt.Errorf("%w: %s: signed by key %s, which is not trusted", ErrIntegrity, url, KeyID(s.KeyID))
	}
	if !minisign.Verify(*key, content, sig) {
		return "", fmt.Errorf("%w: %s: bad signature by key %s (content or comment altered)", ErrIntegrity, url, KeyID(s.KeyID))
	}
	file := ""
	for _, f := range strings.Fields(s.TrustedComment) {
		if v, ok := strings.CutPrefix(f, "file:"); ok {
			file = v
		}
	}
	if file != url {
		return "", fmt.Errorf("%w: %s: signature is for file %q, not this URL", ErrIntegrity, url, file)
	}
	return KeyID(s.KeyID), nil
}
