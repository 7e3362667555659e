// services/log_info.js: /services/{hub}/log_info lists the hub's info
// entries as text/plain, newest first. See lib/logformat.js for the
// query parameters.
result = require("../lib/logformat").serve("info", argv, params);
