package fetch_test

import (
	"encoding/binary"
	"net/http"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/elmcity/elmcity/shared/fetch"
)

func utf16Bytes(s string, order binary.AppendByteOrder, bom bool) []byte {
	var b []byte
	if bom {
		b = order.AppendUint16(b, 0xFEFF)
	}
	for _, u := range utf16.Encode([]rune(s)) {
		b = order.AppendUint16(b, u)
	}
	return b
}

func TestFetchCharset(t *testing.T) {
	t.Parallel()
	const want = "SUMMARY:Café\r\n"
	tests := []struct {
		name        string
		contentType string // "-" sends none at all
		body        []byte
		want        string
		wantCharset string
		wantErr     bool
	}{
		{name: "UTF8", contentType: "text/calendar", body: []byte(want), want: want, wantCharset: "utf-8"},
		{name: "UTF8Declared", contentType: "text/calendar; charset=UTF-8", body: []byte(want), want: want, wantCharset: "utf-8"},
		{name: "UTF8BOM", contentType: "text/calendar", body: []byte("\xEF\xBB\xBF" + want), want: want, wantCharset: "utf-8"},
		{name: "Windows1252Undeclared", contentType: "text/calendar", body: []byte("SUMMARY:Caf\xe9\r\n"), want: want, wantCharset: "windows-1252"},
		{name: "Windows1252NoContentType", contentType: "-", body: []byte("SUMMARY:Caf\xe9\r\n"), want: want, wantCharset: "windows-1252"},
		{name: "Windows1252Declared", contentType: "text/calendar; charset=windows-1252", body: []byte("SUMMARY:Caf\xe9\r\n"), want: want, wantCharset: "windows-1252"},
		{name: "Latin1Declared", contentType: `text/calendar; charset="ISO-8859-1"`, body: []byte("SUMMARY:Caf\xe9\r\n"), want: want, wantCharset: "windows-1252"},
		{name: "WronglyDeclaredUTF8", contentType: "text/calendar; charset=utf-8", body: []byte("SUMMARY:Caf\xe9\r\n"), want: want, wantCharset: "windows-1252"},
		{name: "UnknownCharset", contentType: "text/calendar; charset=x-klingon", body: []byte("SUMMARY:Caf\xe9\r\n"), want: want, wantCharset: "windows-1252"},
		{name: "UTF8DeclaredLatin1", contentType: "text/calendar; charset=iso-8859-1", body: []byte(want), want: want, wantCharset: "utf-8"},
		{name: "Windows1252Punctuation", contentType: "text/calendar", body: []byte("SUMMARY:\x93Caf\xe9\x94 \x80\x965\r\n"), want: "SUMMARY:“Café” €–5\r\n", wantCharset: "windows-1252"},
		{name: "Windows1252Undefined", contentType: "text/calendar", body: []byte("SUMMARY:\x81\x8d\x8f\x90\x9d\xe9\r\n"), want: "SUMMARY:\u0081\u008d\u008f\u0090\u009dé\r\n", wantCharset: "windows-1252"},
		{name: "Latin2Declared", contentType: "text/calendar; charset=iso-8859-2", body: []byte("SUMMARY:Gda\xf1sk \xb1\r\n"), want: "SUMMARY:Gdańsk ą\r\n", wantCharset: "iso-8859-2"},
		{name: "UTF16LEBOM", contentType: "text/calendar", body: utf16Bytes(want, binary.LittleEndian, true), want: want, wantCharset: "utf-16le"},
		{name: "UTF16BEBOM", contentType: "text/calendar; charset=windows-1252", body: utf16Bytes(want, binary.BigEndian, true), want: want, wantCharset: "utf-16be"},
		{name: "UTF16LEDeclared", contentType: "text/calendar; charset=utf-16le", body: utf16Bytes(want, binary.LittleEndian, false), want: want, wantCharset: "utf-16le"},
		{name: "Replacement", contentType: "text/calendar; charset=iso-2022-kr", body: []byte("SUMMARY:x\r\n"), wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, func(w http.ResponseWriter, _ *http.Request) {
				if tt.contentType == "-" {
					w.Header()["Content-Type"] = nil // no sniffing either
				} else {
					w.Header().Set("Content-Type", tt.contentType)
				}
				_, _ = w.Write(tt.body)
			}, fetch.Config{})
			res, err := b.f.Fetch(t.Context(), b.srv.URL, fetch.Validators{})
			if tt.wantErr {
				wantError(t, err, fetch.ClassCharset, fetch.ErrCharset)
				return
			}
			if err != nil {
				t.Fatalf("Fetch() = %v", err)
			}
			if string(res.Body) != tt.want || res.Charset != tt.wantCharset {
				t.Errorf("Fetch() = %q (%s), want %q (%s)", res.Body, res.Charset, tt.want, tt.wantCharset)
			}
			if strings.ContainsRune(string(res.Body), '\uFFFD') {
				t.Errorf("Fetch() body %q contains U+FFFD", res.Body)
			}
		})
	}
}
