const http = require('k6/http');
module.exports = {
  fetch: function (url) { return http.get(url).status; },
};
