// services/log_exception.js: /services/{hub}/log_exception lists the
// hub's exception entries as text/plain, newest first. See
// lib/logformat.js for the query parameters.
result = require("../lib/logformat").serve("exception", argv, params);
