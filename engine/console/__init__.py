"""The web console's static files (HTML, CSS, plain ES modules), served by `mailprobe serve`
under /console/. No Python runs here: the files are package data, read by the service's
console routes; the console reaches the service only through its HTTP API."""
