/* One date and time picker for every box of the panel (flatpickr, vendor/flatpickr), in the page's language.
 *
 * Enhances every input[data-picker="date|datetime"] (admin/widgets.py PickerInput), on load and whenever one is
 * added later (inline forms), and Flask-Admin's date filters, which ask form.js for a "datepicker",
 * "daterangepicker", "datetimepicker" or "datetimerangepicker": those get the same picker in the format the filter
 * reads (data-date-format), instead of Flask-Admin's English daterangepicker.
 * Typing still works: a value the picker cannot read exactly is left as typed, for the server to refuse with a
 * message, never silently changed or cleared.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  var settings = script ? script.dataset : {};
  var language = settings.language || document.documentElement.lang || "en";
  var chinese = /^zh/i.test(language);
  var labels = {today: settings.today || (chinese ? "今天" : "Today"), clear: settings.clear || (chinese ? "清除" : "Clear")};

  var FORMATS = {date: "Y-m-d", datetime: "Y-m-d H:i"};
  // moment.js tokens Flask-Admin's filters give (data-date-format) -> flatpickr's
  var MOMENT = {YYYY: "Y", MM: "m", DD: "d", HH: "H", mm: "i", ss: "S"};
  var RANGE_SEPARATOR = " to ";  // what Flask-Admin's between filters split on

  function fromMoment(format) {
    return format.replace(/YYYY|MM|DD|HH|mm|ss/g, function (token) { return MOMENT[token]; });
  }

  function pad(number) { return (number < 10 ? "0" : "") + number; }

  // Only the whole value, digit for digit: "2026-02-30" or "2026-12" is not quietly turned into another day.
  function strictParse(text, format) {
    var match = /^\s*(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?\s*$/.exec(text || "");
    if (!match) return undefined;
    var withTime = format.indexOf("H") !== -1;
    if (withTime !== (match[4] !== undefined)) return undefined;
    var parts = match.slice(1).map(function (part) { return part === undefined ? 0 : parseInt(part, 10); });
    var when = new Date(parts[0], parts[1] - 1, parts[2], parts[3], parts[4], parts[5]);
    if (when.getFullYear() !== parts[0] || when.getMonth() !== parts[1] - 1 || when.getDate() !== parts[2] ||
        parts[3] > 23 || parts[4] > 59 || parts[5] > 59) return undefined;
    return when;
  }

  function readable(text, format, range) {
    if (!range) return strictParse(text, format) !== undefined;
    return text.split(RANGE_SEPARATOR).every(function (part) { return strictParse(part, format) !== undefined; });
  }

  // 今天 / 清除 under the calendar
  function buttonsPlugin(kind) {
    return function (fp) {
      return {
        onReady: function () {
          var bar = document.createElement("div");
          bar.className = "picker-buttons";
          [["today", labels.today], ["clear", labels.clear]].forEach(function (pair) {
            var button = document.createElement("button");
            button.type = "button";
            button.className = "btn btn-sm btn-outline-secondary picker-" + pair[0];
            button.textContent = pair[1];
            button.addEventListener("click", function () {
              if (pair[0] === "clear") {
                fp.clear();
              } else {
                var now = new Date();
                now.setSeconds(0, 0);
                if (kind === "date" || fp.config.mode === "range") now.setHours(0, 0, 0, 0);
                fp.setDate(fp.config.mode === "range" ? [now, now] : now, true);
              }
              fp._input.focus();  // back to the box for a keyboard user (focus opens the calendar: close after)
              fp.close();
            });
            bar.appendChild(button);
          });
          fp.calendarContainer.appendChild(bar);
        }
      };
    };
  }

  // A range of days picked on the calendar runs to the end of its last day, so that day is in it.
  function wholeDays(dates, text, fp) {
    var end = dates[1];
    if (dates.length === 2 && end.getHours() === 0 && end.getMinutes() === 0 && end.getSeconds() === 0) {
      var last = new Date(end.getTime());
      last.setHours(23, 59, 59, 0);
      fp.setDate([dates[0], last], true);
    }
  }

  function attach(input, kind, format, range) {
    if (input._flatpickr || typeof window.flatpickr !== "function") return input._flatpickr;
    var l10ns = window.flatpickr.l10ns;
    var locale = Object.assign({}, chinese && l10ns.zh ? l10ns.zh : l10ns.default,
                               chinese ? {firstDayOfWeek: 1} : {},  // a Chinese calendar's week starts on Monday
                               range ? {rangeSeparator: RANGE_SEPARATOR} : {});
    var fp = window.flatpickr(input, {
      locale: locale,
      allowInput: true,
      clickOpens: true,
      disableMobile: true,  // the same picker on a phone, not the browser's own (English, unlike the page)
      dateFormat: format,
      // a range of times is chosen by days (from 00:00:00 to 23:59:59, see wholeDays); exact times can be typed
      enableTime: kind === "datetime" && !range,
      enableSeconds: format.indexOf("S") !== -1,
      time_24hr: true,
      minuteIncrement: 1,
      mode: range ? "range" : "single",
      parseDate: strictParse,
      errorHandler: function () {},  // a half-typed value is not an error worth a console line
      plugins: [buttonsPlugin(kind)],
      onChange: kind === "datetime" && range ? wholeDays : []
    });
    // Text the picker cannot read stays as typed (flatpickr would clear it on blur, Enter or a click outside).
    var setDate = fp.setDate;
    fp.setDate = function (date) {
      if (typeof date === "string" && date.trim() !== "" && !readable(date, format, range)) return undefined;
      return setDate.apply(fp, arguments);
    };
    // Escape closes the calendar and keeps what was typed.
    input.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && fp.isOpen) {
        event.preventDefault();
        fp.close();
      }
    });
    return fp;
  }

  function enhance(root) {
    var boxes = (root.querySelectorAll ? root : document).querySelectorAll("input[data-picker]");
    Array.prototype.forEach.call(boxes, function (input) {
      var kind = input.getAttribute("data-picker") === "date" ? "date" : "datetime";
      attach(input, kind, FORMATS[kind], false);
    });
  }

  // Flask-Admin's filters and inline forms style their inputs through form.js (faForm.applyStyle): a converter
  // registered as soon as form.js creates faForm answers for the date roles before daterangepicker is asked.
  var FILTER_ROLES = {
    datepicker: ["date", false], daterangepicker: ["date", true],
    datetimepicker: ["datetime", false], datetimerangepicker: ["datetime", true]
  };

  function filterConverter($el, role) {
    var spec = FILTER_ROLES[role];
    if (!spec) return false;
    var input = $el[0];
    var given = input.getAttribute("data-date-format");
    var format = given ? fromMoment(given) : FORMATS[spec[0]];
    input.setAttribute("autocomplete", "off");
    input.classList.add(spec[1] ? "picker-range" : "picker-single", "picker-" + spec[0]);
    input.setAttribute("placeholder", given || (spec[0] === "date" ? "YYYY-MM-DD" : "YYYY-MM-DD HH:mm"));
    attach(input, spec[0], format, spec[1]);
    return true;
  }

  function adopt(form) {
    if (form && form.addFieldConverter && !form._pickerConverter) {
      form.addFieldConverter(filterConverter);
      form._pickerConverter = true;
    }
  }

  if (window.faForm) {
    adopt(window.faForm);
  } else {
    var held;
    Object.defineProperty(window, "faForm", {
      configurable: true,
      get: function () { return held; },
      set: function (value) { held = value; adopt(value); }
    });
  }

  function start() {
    enhance(document);
    if (window.MutationObserver) {
      new MutationObserver(function (changes) {
        changes.forEach(function (change) {
          Array.prototype.forEach.call(change.addedNodes, function (node) {
            if (node.nodeType !== 1) return;
            if (node.matches && node.matches("input[data-picker]")) {
              enhance(node.parentNode);
            } else {
              enhance(node);
            }
          });
        });
      }).observe(document.body, {childList: true, subtree: true});
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
}());
