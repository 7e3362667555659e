package outputs

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// Rendered is one rendered body, tagged with a strong ETag and gzipped
// once, so every request after the first is served from memory in either
// encoding. It is immutable.
type Rendered struct {
	body  []byte
	etag  string
	ctype string
	// gz is body gzipped, for clients that accept it (nil when body is
	// too small to gain); gzEtag its own strong tag.
	gz     []byte
	gzEtag string
}

// ContentType is the body's media type.
func (r *Rendered) ContentType() string { return r.ctype }

// Encoded is the body to send for a request's Accept-Encoding header,
// with its ETag: the gzipped body (gzipped true) when the client accepts
// gzip and the body is worth compressing, else the plain one.
func (r *Rendered) Encoded(acceptEncoding string) (body []byte, etag string, gzipped bool) {
	if r.gz != nil && acceptsGzip(acceptEncoding) {
		return r.gz, r.gzEtag, true
	}
	return r.body, r.etag, false
}

// size is what the view holds in memory.
func (r *Rendered) size() int64 { return int64(len(r.body) + len(r.gz)) }

// minGzip is the smallest body worth compressing.
const minGzip = 1 << 10

// newRendered tags body and compresses it once.
func newRendered(body []byte, ctype string) (*Rendered, error) {
	sum := sha256.Sum256(body)
	tag := hex.EncodeToString(sum[:16])
	r := &Rendered{body: body, etag: `"` + tag + `"`, ctype: ctype}
	if len(body) >= minGzip {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		if _, err := zw.Write(body); err != nil {
			return nil, err
		}
		if err := zw.Close(); err != nil {
			return nil, err
		}
		r.gz, r.gzEtag = buf.Bytes(), `"`+tag+`-gzip"`
	}
	return r, nil
}

// acceptsGzip reports whether an Accept-Encoding header admits gzip.
func acceptsGzip(header string) bool {
	for _, part := range strings.Split(header, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if name = strings.TrimSpace(name); name != "gzip" && name != "*" {
			continue
		}
		q := strings.ReplaceAll(strings.TrimSpace(params), " ", "")
		return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
	}
	return false
}
