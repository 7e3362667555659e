package fetch

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
)

// ContentHash returns the hex SHA-256 of an iCalendar body with its DTSTAMP
// properties removed, including their folded continuation lines and any
// parameters. Many servers stamp every event with the time of the request,
// so two fetches of an unchanged calendar differ only there; their
// ContentHash is equal. Line endings are hashed as they are.
//
// The line scan is hand-written: content-line unfolding (RFC 5545 section
// 3.1) is not in the standard library or x/text, and this package should
// not depend on the calendar parser to recognise one property.
func ContentHash(body []byte) string {
	h := sha256.New()
	run := 0 // start of the run of kept lines not yet hashed
	inStamp := false
	for i := 0; i < len(body); {
		end := len(body)
		if j := bytes.IndexByte(body[i:], '\n'); j >= 0 {
			end = i + j + 1
		}
		if c := body[i]; c != ' ' && c != '\t' { // not a continuation line
			inStamp = isDTSTAMP(body[i:end])
		}
		if inStamp {
			h.Write(body[run:i]) // hash whole runs, not line by line: it is the hot path
			run = end
		}
		i = end
	}
	h.Write(body[run:])
	return hex.EncodeToString(h.Sum(nil))
}

// isDTSTAMP reports whether a content line is a DTSTAMP property: the name,
// in any case, followed by ':' or ';'.
func isDTSTAMP(line []byte) bool {
	const name = "DTSTAMP"
	return len(line) > len(name) &&
		bytes.EqualFold(line[:len(name)], []byte(name)) &&
		(line[len(name)] == ':' || line[len(name)] == ';')
}
