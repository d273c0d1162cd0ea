// A steady clock for the background effect (room-background.js): on a
// hidden page the page's own timers slow to once a second, a worker's do not.
let timer = null;

onmessage = (event) => {
  clearInterval(timer);
  if (event.data > 0) timer = setInterval(() => postMessage(0), event.data);
};
