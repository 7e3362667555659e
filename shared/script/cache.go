package script

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// diskCache keeps verified remote modules on disk, content-addressed:
//
//	DIR/blobs/<sha256 of content>
//	DIR/meta/<sha256 of URL>.json   {url, sha256, etag, ...}
//
// Only content that passed the lock and signature policy is written, so
// the cache always holds the last verified copy of each URL. Files are
// written to a temporary name and renamed, so concurrent processes never
// see partial files, and blobs are checked against their name when read.
type diskCache struct {
	dir string
}

// cacheMeta is a URL's metadata file.
type cacheMeta struct {
	URL          string    `json:"url"`
	SHA256       string    `json:"sha256"`
	ETag         string    `json:"etag,omitempty"`
	LastModified string    `json:"last_modified,omitempty"`
	ValidatedAt  time.Time `json:"validated_at"`
	Signature    string    `json:"signature,omitempty"`
}

func openDiskCache(dir string) (*diskCache, error) {
	for _, sub := range []string{"blobs", "meta"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o700); err != nil {
			return nil, fmt.Errorf("open cache: %w", err)
		}
	}
	return &diskCache{dir: dir}, nil
}

func (c *diskCache) metaPath(url string) string {
	sum := sha256.Sum256([]byte(url))
	return filepath.Join(c.dir, "meta", hex.EncodeToString(sum[:])+".json")
}

func (c *diskCache) blobPath(hash string) string {
	return filepath.Join(c.dir, "blobs", hash)
}

// load returns url's metadata and content, or fs.ErrNotExist. Content
// whose hash does not match is treated as missing.
func (c *diskCache) load(url string, maxBytes int64) (*cacheMeta, []byte, error) {
	b, err := os.ReadFile(c.metaPath(url))
	if err != nil {
		return nil, nil, fmt.Errorf("read cache of %s: %w", url, err)
	}
	var m cacheMeta
	if err := json.Unmarshal(b, &m); err != nil || m.URL != url || len(m.SHA256) != 64 {
		return nil, nil, fmt.Errorf("read cache of %s: bad metadata: %w", url, fs.ErrNotExist)
	}
	fi, err := os.Stat(c.blobPath(m.SHA256))
	if err != nil {
		return nil, nil, fmt.Errorf("read cache of %s: %w", url, err)
	}
	if fi.Size() > maxBytes {
		return nil, nil, fmt.Errorf("read cache of %s: %w: %d bytes", url, ErrLimit, fi.Size())
	}
	body, err := os.ReadFile(c.blobPath(m.SHA256))
	if err != nil {
		return nil, nil, fmt.Errorf("read cache of %s: %w", url, err)
	}
	if sum := sha256.Sum256(body); hex.EncodeToString(sum[:]) != m.SHA256 {
		return nil, nil, fmt.Errorf("read cache of %s: content does not match its hash: %w", url, fs.ErrNotExist)
	}
	return &m, body, nil
}

// store writes the content (if not already there) and the metadata.
func (c *diskCache) store(m *cacheMeta, body []byte) error {
	blob := c.blobPath(m.SHA256)
	if _, err := os.Stat(blob); errors.Is(err, fs.ErrNotExist) {
		if err := writeFileAtomic(blob, body); err != nil {
			return fmt.Errorf("cache %s: %w", m.URL, err)
		}
	}
	return c.storeMeta(m)
}

// storeMeta writes the metadata only, after a revalidation.
func (c *diskCache) storeMeta(m *cacheMeta) error {
	b, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("cache %s: %w", m.URL, err)
	}
	if err := writeFileAtomic(c.metaPath(m.URL), b); err != nil {
		return fmt.Errorf("cache %s: %w", m.URL, err)
	}
	return nil
}
