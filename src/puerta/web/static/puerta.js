// puerta: small improvements over pages that already work without JavaScript.
(function () {
  "use strict";

  // The language switcher keeps its button: changing the page as soon as an option is
  // picked would surprise keyboard users, who move through the options with the arrows.

  // "Listen": read the page aloud with the browser's own speech synthesis.
  var listen = document.getElementById("listen");
  if (listen && "speechSynthesis" in window && "SpeechSynthesisUtterance" in window) {
    var label = listen.querySelector("span");
    listen.hidden = false;
    listen.addEventListener("click", function () {
      var synth = window.speechSynthesis;
      if (synth.speaking) {
        synth.cancel();
        return;
      }
      var main = document.getElementById("main");
      var utterance = new SpeechSynthesisUtterance(main ? main.innerText : document.body.innerText);
      utterance.lang = listen.getAttribute("data-lang") || document.documentElement.lang;
      utterance.onend = utterance.onerror = function () {
        label.textContent = listen.getAttribute("data-listen");
      };
      label.textContent = listen.getAttribute("data-stop");
      synth.speak(utterance);
    });
  }

  // "Use my location": fill in the latitude and longitude from the phone.
  var locate = document.getElementById("locate");
  if (locate && "geolocation" in navigator) {
    var status = document.getElementById("locate-status");
    var manual = document.getElementById("manual-location");
    var lat = document.getElementById("lat");
    var lon = document.getElementById("lon");
    locate.hidden = false;
    locate.addEventListener("click", function () {
      status.textContent = locate.getAttribute("data-wait");
      navigator.geolocation.getCurrentPosition(function (position) {
        lat.value = position.coords.latitude.toFixed(5);
        lon.value = position.coords.longitude.toFixed(5);
        status.textContent = locate.getAttribute("data-ok");
      }, function () {
        status.textContent = locate.getAttribute("data-denied");
        if (manual) { manual.open = true; }
      }, { enableHighAccuracy: false, timeout: 20000, maximumAge: 300000 });
    });
  }
})();
