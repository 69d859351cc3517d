# A counter whose state is an integer; hot-app-upgrade changes its shape.
defmodule HotSample.Counter do
  use GenServer
  def start_link(_), do: GenServer.start_link(__MODULE__, 0, name: __MODULE__)
  def bump(n \\ 1), do: GenServer.call(__MODULE__, {:bump, n})
  def value, do: GenServer.call(__MODULE__, :value)
  @impl true
  def init(n), do: {:ok, n}
  @impl true
  def handle_call({:bump, n}, _from, count), do: {:reply, count + n, count + n}
  def handle_call(:value, _from, count), do: {:reply, count, count}
end
