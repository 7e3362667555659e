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

// mostly is a UTF-8 feed with three invalid bytes (a lone 0xFF and a
// sequence cut short); mostlyWant is what it reads as: each invalid byte
// is one U+FFFD, as the parser's own repair writes it.
const (
	mostly     = "SUMMARY:2005年日本\xff博覧会\r\nDESCRIPTION:Café Ünïcödé \xe6\x97 fin\r\n"
	mostlyWant = "SUMMARY:2005年日本\uFFFD博覧会\r\nDESCRIPTION:Café Ünïcödé \uFFFD\uFFFD fin\r\n"
)

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
		// An HTML page (a jsonld feed) says its charset in a <meta>.
		{name: "HTMLMetaLatin2", contentType: "text/html", body: []byte("<html><head><meta charset=\"iso-8859-2\"><title>Gda\xf1sk</title>"),
			want: `<html><head><meta charset="iso-8859-2"><title>Gdańsk</title>`, wantCharset: "iso-8859-2"},
		{name: "HTMLMetaHTTPEquiv", contentType: "text/html", body: []byte("<meta http-equiv=\"Content-Type\" content=\"text/html; charset=shift_jis\">\x93\xfa\x96\x7b"),
			want: `<meta http-equiv="Content-Type" content="text/html; charset=shift_jis">日本`, wantCharset: "shift_jis"},
		{name: "HTMLHeaderBeatsMeta", contentType: "text/html; charset=windows-1252", body: []byte("<meta charset=\"iso-8859-2\">Caf\xe9"),
			want: `<meta charset="iso-8859-2">Café`, wantCharset: "windows-1252"},
		{name: "HTMLMetaUTF8", contentType: "text/html", body: []byte(`<meta charset="utf-8">Café`), want: `<meta charset="utf-8">Café`, wantCharset: "utf-8"},
		// A calendar is not HTML: a <meta> in its text is no declaration.
		{name: "CalendarWithMeta", contentType: "text/calendar", body: []byte("SUMMARY:<meta charset=\"iso-8859-2\"> Caf\xe9\r\n"),
			want: "SUMMARY:<meta charset=\"iso-8859-2\"> Café\r\n", wantCharset: "windows-1252"},
		// UTF-8 with a few invalid bytes keeps its UTF-8: only the
		// invalid bytes become U+FFFD (whole-file Windows-1252 would
		// make "2005å¹´æ—¥æœ¬" of it).
		{name: "MostlyUTF8", contentType: "text/calendar", body: []byte(mostly), want: mostlyWant, wantCharset: "utf-8"},
		{name: "MostlyUTF8NoContentType", contentType: "-", body: []byte(mostly), want: mostlyWant, wantCharset: "utf-8"},
		{name: "MostlyUTF8DeclaredUTF8", contentType: "text/calendar; charset=utf-8", body: []byte(mostly), want: mostlyWant, wantCharset: "utf-8"},
		{name: "MostlyUTF8StaleLatin1", contentType: "text/calendar; charset=iso-8859-1", body: []byte(mostly), want: mostlyWant, wantCharset: "utf-8"},
		{name: "MostlyUTF8BOM", contentType: "text/calendar", body: []byte("\xEF\xBB\xBF" + mostly), want: mostlyWant, wantCharset: "utf-8"},
		// A Latin-1 line pasted into a UTF-8 file keeps its accents, and
		// the UTF-8 lines theirs.
		{name: "Latin1LineInUTF8", contentType: "text/calendar", body: []byte("SUMMARY:2005年日本\r\nLOCATION:Caf\xe9\r\nDESCRIPTION:Ünïcödé\r\n"),
			want: "SUMMARY:2005年日本\r\nLOCATION:Café\r\nDESCRIPTION:Ünïcödé\r\n", wantCharset: "utf-8"},
		// A Latin-1 file with one accidental UTF-8 sequence ("Ã©") among
		// its accents is still Latin-1.
		{name: "Latin1WithAnAccidentalSequence", contentType: "text/calendar", body: []byte("SUMMARY:\xc3\xa9t\xe9 \xe0 Montr\xe9al, caf\xe9 cr\xe8me\r\n"),
			want: "SUMMARY:Ã©té à Montréal, café crème\r\n", wantCharset: "windows-1252"},
		// Other declared legacy charsets are trusted.
		{name: "ShiftJISDeclared", contentType: "text/calendar; charset=shift_jis", body: []byte("SUMMARY:\x93\xfa\x96\x7b\r\n"), want: "SUMMARY:日本\r\n", wantCharset: "shift_jis"},
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
			if got, want := strings.Count(string(res.Body), "\uFFFD"), strings.Count(tt.want, "\uFFFD"); got != want {
				t.Errorf("Fetch() body %q has %d U+FFFD, want %d", res.Body, got, want)
			}
		})
	}
}
