package worker

// Detail is detail, for the tests.
var Detail = detail
