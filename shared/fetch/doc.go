// Package fetch is the HTTP side of feed aggregation: it downloads the
// iCalendar feeds that a hub merges, politely and defensively.
//
// A [Fetcher] sends conditional GETs with a feed's previous ETag and
// Last-Modified ([Validators]), forcing an unconditional fetch every
// [Config.ForceEvery] runs because some servers answer 304 to everything. It
// asks for gzip and decodes it itself, refuses bodies over [Config.MaxBytes]
// (counted both on the wire and after decompression, so a gzip bomb is
// refused), follows at most [Config.MaxRedirects] redirects, bounds connect
// and total time, and bounds concurrent requests per host. Bodies come back
// as UTF-8 whatever the feed was written in: UTF-8 with or without a byte
// order mark, UTF-16 with one, a declared charset, or Windows-1252 for the
// undeclared non-UTF-8 feeds that are common in practice.
//
// [Result.ContentHash] is a SHA-256 of the body without its DTSTAMP lines,
// which many generators set to the time of the request; a feed whose hash
// matches the previous one is [Result.Unchanged] and need not be parsed again.
//
// By default the Fetcher refuses to connect to loopback, private, link-local
// and other addresses that are not globally reachable ([IsGlobal]). The check
// runs on the address actually being dialled, after DNS and on every
// redirect, so neither DNS rebinding nor a redirect to an internal host gets
// through. [Config.AllowPrivate] lifts it for development and tests.
//
// Every error from [Fetcher.Fetch] is an [*Error] with a [Class] for the
// feed statistics; errors.Is matches [ErrBlocked], [ErrTooLarge],
// [ErrTooManyRedirects], [ErrBadURL], [ErrCharset], [ErrStatus] and the
// context errors through it.
package fetch
