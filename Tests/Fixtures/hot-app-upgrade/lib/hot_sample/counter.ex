# The next version of hot-app's counter: its state becomes a map (code_change/3
# converts it both ways) and it gains bumps/0.
defmodule HotSample.Counter do
  use GenServer
  def start_link(_), do: GenServer.start_link(__MODULE__, %{count: 0, bumps: 0}, name: __MODULE__)
  def bump(n \\ 1), do: GenServer.call(__MODULE__, {:bump, n})
  def value, do: GenServer.call(__MODULE__, :value)
  def bumps, do: GenServer.call(__MODULE__, :bumps)
  @impl true
  def init(state), do: {:ok, state}
  @impl true
  def handle_call({:bump, n}, _from, s), do: {:reply, s.count + n, %{s | count: s.count + n, bumps: s.bumps + 1}}
  def handle_call(:value, _from, s), do: {:reply, s.count, s}
  def handle_call(:bumps, _from, s), do: {:reply, s.bumps, s}
  @impl true
  def code_change({:down, _}, %{count: n}, _extra), do: {:ok, n}
  def code_change(_old, n, _extra) when is_integer(n), do: {:ok, %{count: n, bumps: 0}}
end
